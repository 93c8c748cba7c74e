"""How the valley's reference data looks in the REST API: both languages of every name, nothing else."""

from rest_framework import serializers

from valley.models import FocusArea, Institution, ServiceLine, SubVenue, Target, Valley


class ValleySerializer(serializers.ModelSerializer):
    class Meta:
        model = Valley
        fields = [
            "id",
            "name_zh",
            "name_en",
            "opened_on",
            "launch_venue_zh",
            "launch_venue_en",
            "description_zh",
            "description_en",
        ]


class SubVenueSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubVenue
        fields = ["id", "code", "name_zh", "name_en", "city_zh", "city_en", "host_institution", "opened_on", "status"]


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["id", "kind", "name_zh", "name_en", "short_name", "city_zh", "city_en"]


class FocusAreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = FocusArea
        fields = ["id", "code", "name_zh", "name_en"]


class ServiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceLine
        fields = ["id", "code", "name_zh", "name_en", "description_zh", "description_en"]


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "code", "name_zh", "name_en", "target_value", "measure", "recorded_value", "sort_order"]
