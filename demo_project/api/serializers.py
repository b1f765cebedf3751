from rest_framework import serializers

from demo_project.api.models import Note, VaultItem


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "text", "created"]


class VaultItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = VaultItem
        fields = ["id", "name", "secret"]
