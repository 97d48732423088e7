"""Drawing: the web map (``render.map``) and the printable inventory report (``render.report``).
Everything here draws what it is given; nothing reads the workspace or a settings file."""
