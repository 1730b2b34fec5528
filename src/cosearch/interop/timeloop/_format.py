"""Names of Timeloop's input format, for the export and the import: problem keys, energy-table actions,
technologies, the ``no_link_transfer`` marker and the top-level keys of the input files."""

LAYER_PARAMS = ("Hstride", "Wstride", "Hdilation", "Wdilation")
"""Problem-instance keys after the seven dimensions, in the records' order."""
STORAGE_ACTIONS = ("random_read", "random_fill", "random_update", "gated_read", "gated_fill", "gated_update",
                   "skipped_read", "skipped_fill", "skipped_update", "idle")
NO_LINK_TRANSFER = ":no_link_transfer"
"""Suffix of ``Mapping.source`` marking a mapping whose spatial entry disables link transfers
(cosearch never models link transfers; the suffix only carries Timeloop's directive through)."""
SYSTEM = "System"
TECHNOLOGIES = {"DRAM": "DRAM", "SRAM": "SRAM", "REGFILE": "regfile"}
FILE_KEYS = {"arch": "arch", "architecture": "arch", "problem": "problem", "mapping": "mapping", "ERT": "ERT",
             "mapspace_constraints": "constraints", "mapspace": "constraints"}
"""Top-level key of a Timeloop input file -> which input it is."""

