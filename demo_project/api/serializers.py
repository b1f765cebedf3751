from rest_framework import serializers

from demo_project.api.models import Note, Order, VaultItem


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "text", "created"]
        # What the model enforces, stated so the OpenAPI schema says it (minLength: 1) and
        # a schema-valid note is always accepted: no trimming to blank.
        extra_kwargs = {"text": {"min_length": 1, "trim_whitespace": False}}


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
        # As NoteSerializer's text: every schema-valid title (minLength: 1) is accepted.
        extra_kwargs = {"title": {"min_length": 1, "trim_whitespace": False}}


class MessageSerializer(serializers.Serializer):
    """The body of the demo's message endpoints (for the OpenAPI schema)."""

    message = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    username = serializers.CharField()
    scheme = serializers.CharField(allow_null=True, help_text="The scheme that authenticated.")
