"""The YAML loader of recipes and `--set` values: safe, and bounded in what parsing may cost."""

from __future__ import annotations

import yaml


class RecipeYAMLError(yaml.YAMLError):
    """Valid YAML that a recipe refuses: a repeated key, or past the bounds below."""


# A recipe is a page of settings: these bound what parsing one may cost. An alias bomb (anchors
# referring to anchors, 9 levels deep) expands to billions of nodes from a few hundred bytes.
MAX_RECIPE_BYTES = 1 << 20
MAX_RECIPE_ALIASES = 100
MAX_RECIPE_DEPTH = 32
MAX_RECIPE_NODES = 100_000  # with every alias expanded: a full recipe has a few hundred


class RecipeLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with a repeated key (plain YAML keeps the last one),
    more than MAX_RECIPE_ALIASES alias references and nesting deeper than MAX_RECIPE_DEPTH."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            expanded = _expanded_size(node, {})
            if expanded > MAX_RECIPE_NODES:
                raise RecipeYAMLError(
                    f"{expanded:,} values once its aliases are expanded (at most "
                    f"{MAX_RECIPE_NODES:,}): alias references nest too deeply"
                )
        return node

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_RECIPE_ALIASES:
                mark = self.peek_event().start_mark
                raise RecipeYAMLError(
                    f"more than {MAX_RECIPE_ALIASES} alias references (line {mark.line + 1})"
                )
        self._depth += 1
        try:
            if self._depth > MAX_RECIPE_DEPTH:
                mark = self.peek_event().start_mark
                raise RecipeYAMLError(
                    f"nested deeper than {MAX_RECIPE_DEPTH} levels (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` keys may be overridden: that is their purpose
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader reports it
                continue
            if repeated:
                line = key_node.start_mark.line + 1
                raise RecipeYAMLError(f"duplicate key {key!r} at line {line}")
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, seen: dict) -> int:
    """Nodes in the tree `node` stands for once aliases (shared nodes) are expanded: computed on
    the shared graph, so it costs the graph's size, not the expansion's."""
    known = seen.get(id(node))
    if known is not None:
        return known
    seen[id(node)] = 1  # a recursive alias counts once (SafeLoader refuses what it can't build)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    seen[id(node)] = size
    return size
