"""The grid hierarchy: generations, import, export and queries of areas."""
