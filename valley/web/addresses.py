"""The client's address, one answer for the audit log and the login lockout (django-axes'
AXES_CLIENT_IP_CALLABLE), so that both name the same address.

REMOTE_ADDR is the peer that opened the connection. Only when that peer is one of TRUSTED_PROXIES (CIDRs)
is X-Forwarded-For read, from the right: each trusted proxy appended the address it got the request from,
so the right-most address that is not itself a trusted proxy is the client. Whatever lies further left was
written by the client and proves nothing. With no TRUSTED_PROXIES (the default) the header is never read,
so nobody can choose the address the log records or the lockout counts.
"""

import ipaddress

from django.conf import settings


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    """The client's address for `request` (a string; empty when the server gave none)."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    networks = settings.TRUSTED_PROXIES
    if not networks or not _trusted(_address(peer), networks):
        return peer
    client = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed(forwarded.split(",")):
        address = _address(hop)
        if address is None:
            break  # not an address: the hops a trusted proxy vouched for end here
        client = str(address)
        if not _trusted(address, networks):
            break
    return client
