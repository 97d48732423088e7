"""The case dossier (issue 12): one case as a PDF or an HTML page for an inspector's order or a court."""
