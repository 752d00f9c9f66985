"""Incident heat: H3 aggregation (``cells``), Getis-Ord Gi* hotspots (``hotspots``) and the
heatmap query over the incidents table (``service``)."""
