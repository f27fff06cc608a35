"""The package's version and distribution name: a leaf module, importable from any layer without
importing the package's API (which `platypus/__init__.py` loads on first use)."""

__version__ = "0.1.0"
# The name it is installed under (pyproject.toml; "platypus" on PyPI is another project), for
# install hints such as pip install 'platypus-recipe[tracking]'.
DISTRIBUTION = "platypus-recipe"
