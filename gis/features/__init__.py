"""Features for OGC API – Features: the collections wangge serves (every area level present,
buildings, facilities, incidents when the table exists), their items with paging, bbox,
datetime, property filters and output CRS. No HTTP here: ``api/routers/ogc.py`` calls these."""
