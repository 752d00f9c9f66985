#!/usr/bin/env bash
# Installs the Debian packages wangge needs when they are missing: PostgreSQL 15 + PostGIS 3
# (the managed database), python3-venv, chromium (HTML pages and maps tested in a headless
# browser) and a Chinese font. Quick when everything is present.
set -euo pipefail

PG_VERSION="${WANGGE_PG_VERSION:-15}"
need=()
[ -x "/usr/lib/postgresql/${PG_VERSION}/bin/initdb" ] || need+=("postgresql-${PG_VERSION}")
[ -f "/usr/share/postgresql/${PG_VERSION}/extension/postgis.control" ] \
  || need+=("postgresql-${PG_VERSION}-postgis-3")
python3 -c "import ensurepip, venv" 2>/dev/null || need+=("python3-venv")
# headless Chromium renders the OGC HTML pages and the maps in tests (driven by Playwright)
[ -x /usr/bin/chromium ] || need+=("chromium")
# and a Chinese font, so screenshots show names rather than empty boxes
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=("fonts-wqy-microhei")
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra")
done

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "wangge: installing Debian packages: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "wangge: missing Debian packages and no rights to install them. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  echo "or set WANGGE_DATABASE_URL to an existing PostGIS database." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
