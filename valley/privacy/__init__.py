"""Personal data: the privacy notice and consents, "download my data", and account deletion by anonymisation.

The room: registry.py (what each app holds about a person: the apps above register a provider in their
AppConfig.ready(), as they register exports), services.py (the rules), workflow.py (the deletion request's
states), views.py (the pages), tasks.py (beat's anonymisation), defaults.py (the first notice's text).
"""
