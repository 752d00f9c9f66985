"""Patrols (巡查, issue 27): GPS tracks of grid members, cleaned, and the buildings they visited.

- :mod:`gis.patrols.fixes` and :mod:`gis.patrols.gpx`: fixes from JSON points or GPX files;
- :mod:`gis.patrols.clean`: accuracy and speed-spike cleaning, breaks at gaps and jumps;
- :mod:`gis.patrols.visits`: the visited-buildings query (a grid over footprints in metres
  and a numba kernel over the track's segments);
- :mod:`gis.patrols.track`: one patrol worked out (totals, geofence, visits);
- :mod:`gis.patrols.store` / :mod:`gis.patrols.read`: recording and reading, with
  :mod:`gis.patrols.access` deciding who reads whose track;
- :mod:`gis.patrols.coverage`: patrol coverage per micro-grid and building, and the figures
  the evaluation (考核) uses; :mod:`gis.patrols.purge`: retention of raw fixes.
"""
