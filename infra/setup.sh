#!/usr/bin/env bash
# Installs whatever the platform needs and is missing; safe to run any number of times.
#   1. Debian packages: PostgreSQL, Redis, a Java 17 JDK, Maven, Chromium (browser tests)
#   2. uv, then the locked Python environment (.venv from uv.lock)
#   3. JVM artifacts pinned in infra/pom.xml, fetched by Maven into $KOL_HOME
# A second run on the same machine downloads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
KOL_HOME="${KOL_HOME:-$PWD/.kol}"
mkdir -p "$KOL_HOME"
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ---- 1. Debian packages -----------------------------------------------------------------
missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
# a JDK, not only a runtime: Maven compiles the platform's Spark functions (infra/maven/spark-udf)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
# the dashboard's browser test drives Debian's Chromium (Playwright cannot download its own here)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- 2. Python ---------------------------------------------------------------------------
if ! command -v uv >/dev/null; then
  step "installing uv"
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
step "syncing the Python environment (uv.lock)"
uv sync --frozen --quiet

# ---- 3. JVM artifacts, and the platform's own Spark functions compiled ------------------------
# Skip Maven entirely when the poms have not changed since the last successful fetch.
stamp="$KOL_HOME/jvm-artifacts.sha256"
want=$(cat infra/pom.xml infra/maven/*/pom.xml infra/maven/settings.xml \
  $(find infra/maven -name '*.java' | sort) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
   || ! compgen -G "$KOL_HOME/jars/kafka/kafka_2.13-*.jar" >/dev/null \
   || ! compgen -G "$KOL_HOME/dist/trino-server-core-*/bin/launcher" >/dev/null \
   || ! compgen -G "$KOL_HOME/dist/trino-server-core-*/plugin/trino-iceberg-*" >/dev/null \
   || ! compgen -G "$KOL_HOME/jars/spark/iceberg-spark-runtime-*.jar" >/dev/null \
   || [ ! -f "$KOL_HOME/jars/spark/kol-spark-udf.jar" ]; then
  step "fetching JVM artifacts with Maven (infra/pom.xml) into $KOL_HOME"
  rm -rf "$KOL_HOME/jars" "$KOL_HOME/dist" "$KOL_HOME/maven-markers"
  mvn -B -q -s infra/maven/settings.xml -f infra/pom.xml package -Dkol.home="$KOL_HOME"
  echo "$want" > "$stamp"
fi
step "setup complete"
