"""The one YAML loader for content files: safe types only, no repeated keys, and no aliases.

Content files are edited by hand and never need YAML's anchors and aliases (``&name`` / ``*name``;
none of the shipped files uses one). Aliases are what make YAML dangerous to read: a recursive alias
(``&a [*a]``) builds a structure that contains itself, which validation and error messages then walk
until Python's recursion limit, and a few hundred bytes of nested aliases (a "billion laughs" bomb)
expand to billions of nodes. So the loader refuses the first alias it meets, with its line and column,
before anything is built from it: a shared node is exactly a node the constructor reaches a second time.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (about 4x faster); same safe constructor either way.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ALIAS_MESSAGE = (  # the mark given with it is the anchored value's (&name), which an alias repeats
    "YAML anchors and aliases (&name / *name) are not allowed in content files; write the value out"
)


class ContentLoader(_SafeBase):  # type: ignore[misc,valid-type]  # base chosen at import
    """SafeLoader that refuses aliases and a key written twice in one mapping (instead of keeping the
    last one)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # The composer turns every ``*name`` into the very node its ``&name`` labelled, so a node met a
        # second time (or while it is still being built: a recursive alias) is an alias.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(
                None, None, ALIAS_MESSAGE, getattr(node, "start_mark", None)
            )
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Each key and value built once (an alias check depends on it), repeated keys refused."""
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, ALIAS_MESSAGE, key_node.start_mark
                )
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, "a key must be a plain value",
                    key_node.start_mark,
                )  # fmt: skip
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"key {key!r} appears twice",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def load_yaml(text: str) -> Any:
    """Parse one content document; ``yaml.YAMLError`` (with a mark) on bad syntax or an alias."""
    return yaml.load(text, Loader=ContentLoader)
