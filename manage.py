#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valley.settings")
    from django.core.management import execute_from_command_line

    from valley.audit.chain import acting_from

    # What a command writes to the audit log: no address, agent "command:<name>" (a request served by
    # runserver records its own source).
    with acting_from(agent=f"command:{sys.argv[1] if len(sys.argv) > 1 else 'help'}"):
        execute_from_command_line(sys.argv)
