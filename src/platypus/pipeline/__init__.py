"""`platypus run`: the stages of a recipe in content-addressed folders, skipping finished ones."""
