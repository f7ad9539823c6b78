"""Pure core: data model, edits, geometry, file I/O. Imports no Qt and no torch."""
