from django.contrib import admin

from demo_project.api.models import Note, Order, VaultItem

admin.site.register(Note)
admin.site.register(VaultItem)
admin.site.register(Order)
