"""Who reads the audit log: auditors and provincial staff (and superusers), all of it, and nobody else.

Decided so (issue 18) rather than giving each sub-venue operator "their" entries:
- the log's proof is the whole chain: a file of one sub-venue's entries has gaps between every two rows, so
  the offline check (README) cannot run on it, and its end line would prove nothing;
- many entries belong to no sub-venue (logins, failed logins, exports), and an entry's values before and
  after can name people of other sub-venues;
- the log watches the operators too: an operator reading the check of their own work is not the control a
  provincial security review asks for. Operators read their records' history on the records' own pages.
"""

from valley.core import roles


def may_read_log(user) -> bool:
    """The audit-log check page, its CSV export and the anchors' state."""
    return roles.is_auditor(user) or roles.has_role(user, roles.PROVINCIAL_STAFF)
