"""The client's address behind trusted reverse proxies.

A proxy appends the address it received the request from to X-Forwarded-For,
so the header's entries are only as trustworthy as the hop that wrote them:
anything a client sends is to the left. Reading from the right, each entry is
believed while the hop that added it is a trusted proxy; the first address that
is not a trusted proxy is the client. Without trusted proxies (the default),
or from a peer that is not one, the header is ignored.
"""

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """ "10.0.0.1", "10.0.0.0/8", "::1" -> networks; ValueError names a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


def is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(
    remote_address: str, forwarded_for: str, networks: tuple[Network, ...]
) -> str:
    """The client's address: REMOTE_ADDR unless it is a trusted proxy."""
    if not is_trusted(remote_address, networks):
        return remote_address
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            # Written by a trusted proxy yet not an address: keep the peer's.
            return remote_address
        if not is_trusted(hop, networks):
            return hop
    # Every hop is a trusted proxy: the left-most one is where it started.
    return hops[0] if hops else remote_address
