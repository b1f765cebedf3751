from django.contrib import admin

from demo_project.api.models import Note, VaultItem

admin.site.register(Note)
admin.site.register(VaultItem)
