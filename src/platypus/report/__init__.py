"""Reports: plots and the single-file HTML run report."""
