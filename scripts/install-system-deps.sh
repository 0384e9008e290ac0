#!/usr/bin/env bash
# The real peers the tests talk to, from Debian's packages: Prometheus (promtool),
# Alertmanager, R's `surveillance` package (reference for the EARS, CUSUM and
# Farrington detectors), and headless Chromium with its WebDriver (the alert pages'
# browser test). Java 17+ and Maven must already be installed (Kafka's jars
# come from Maven Central). Skips apt when everything is present.
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || need+=(prometheus-alertmanager)
if ! command -v Rscript >/dev/null || ! Rscript -e 'quit(status = !requireNamespace("surveillance", quietly = TRUE))' >/dev/null 2>&1; then
  need+=(r-cran-surveillance)
fi
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v java >/dev/null || need+=(default-jre-headless)
command -v mvn >/dev/null || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "system dependencies present: prometheus, promtool, alertmanager, R surveillance, chromium, chromedriver, java, mvn"
