from rest_framework import serializers

from demo_project.api.models import Note, Order, VaultItem


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "text", "created"]


class VaultItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = VaultItem
        fields = ["id", "name", "secret"]


class OrderSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Order
        fields = ["id", "title", "shipped", "owner"]
        read_only_fields = ["shipped"]
