"""Interoperation with Timeloop: export/import of its input files and checking against its reference records."""
