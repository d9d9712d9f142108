"""XML from outside, read safely: no DTD (so no entity, internal or external, is ever
defined), entities never resolved, nothing fetched over the network, lxml's limits on huge
text nodes and depth kept on. What breaks these rules is refused with its reason (422)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from arrears.shared.errors import Problem

PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


class XmlRefused(Problem):
    """The document is refused; nothing of it is imported."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(422, code, detail)


def refuse_dtd(root: etree._Element) -> None:
    """Refuse a document that declares a DTD."""
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise XmlRefused(
            "dtd_not_allowed", "the document declares a DTD (entities are not accepted)"
        )


def parse(data: bytes) -> etree._Element:
    """The root of a small document read whole."""
    try:
        root = etree.fromstring(data, etree.XMLParser(**PARSER_OPTIONS))
    except etree.XMLSyntaxError as error:
        raise XmlRefused("invalid_xml", f"not well-formed XML: {error}") from error
    if root is None:
        raise XmlRefused("invalid_xml", "the document is empty")
    refuse_dtd(root)
    return root
