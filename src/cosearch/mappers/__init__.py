"""The inner loop: search the mappings of one layer on one arch (ask/tell mappers, map_layer, map_network)."""
