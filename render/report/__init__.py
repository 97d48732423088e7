"""The mercury inventory report: tables, charts, the area map, PDF and HTML documents."""
