"""How teams and startups look in the REST API. Related records appear as ids, users as e-mail addresses."""

from rest_framework import serializers

from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from valley.web.api import StaffOnlyFieldsMixin, UserEmailField, YuanField


def optional_email():
    # An e-mail address or "" when none was given: a plain string, since "" is not a valid `format: email`.
    return serializers.CharField(read_only=True)


class EntitySerializer(serializers.ModelSerializer):
    owner = UserEmailField(source="owner.email")
    contact_email = optional_email()

    class Meta:
        model = Entity
        fields = [
            "id",
            "kind",
            "name_zh",
            "name_en",
            "institution",
            "focus_area",
            "summary",
            "contact_email",
            "owner",
            "created_at",
            "updated_at",
        ]


class MemberSerializer(serializers.ModelSerializer):
    email = optional_email()

    class Meta:
        model = Member
        fields = ["id", "entity", "name", "role", "email", "phone", "is_lead"]


class ResidencySerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    decided_by = UserEmailField(source="decided_by.email")
    note = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Residency
        fields = ["id", "entity", "sub_venue", "status", "selected_on", "entered_on", "ended_on", "decided_by", "note"]
        staff_only_fields = ["decided_by", "note"]


class AchievementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Achievement
        fields = ["id", "entity", "title", "kind", "stage", "description", "created_at"]


class RegistrationSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    registered_capital = YuanField(read_only=True)
    paid_in_capital = YuanField(read_only=True)
    verified_by = UserEmailField(source="verified_by.email")

    class Meta:
        model = Registration
        fields = [
            "id",
            "entity",
            "company_name",
            "uscc",
            "registered_on",
            "registered_capital",
            "paid_in_capital",
            "legal_representative",
            "verified_by",
            "verified_at",
        ]
        staff_only_fields = ["verified_by"]


class AchievementStageChangeSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    changed_by = UserEmailField(source="changed_by.email")

    class Meta:
        model = AchievementStageChange
        fields = ["id", "achievement", "from_stage", "to_stage", "changed_on", "changed_at", "changed_by", "note"]
        staff_only_fields = ["changed_by"]


class DocumentSerializer(serializers.ModelSerializer):
    """A document's description only: the file itself is served by a page that checks permission first."""

    uploaded_by = UserEmailField(source="uploaded_by.email")

    class Meta:
        model = Document
        fields = ["id", "entity", "title", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
