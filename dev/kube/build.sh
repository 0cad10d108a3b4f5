#!/usr/bin/env bash
# Builds the local cluster's components from their published Go modules, once per pinned version.
#
#   dev/kube/build.sh            build what is missing, print the bin directory
#   dev/kube/build.sh --print    print the bin directory without building
#
# Versions come from dev/kube/components.conf. Builds land in $KUBE_CACHE (default
# ~/.cache/taskpilot/kube), one directory per component and version, so a changed pin rebuilds
# only that part and a second run costs nothing. No upstream source is kept in the repository:
# Kubernetes, etcd and Tilt replace their own modules with local paths in their go.mod, so each is
# built through a small wrapper module generated here that pins the published versions instead.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=dev/kube/components.conf
source "$HERE/components.conf"
KUBE_CACHE=${KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskpilot/kube}
BIN="$KUBE_CACHE/bin"
if [ "${1:-}" = --print ]; then echo "$BIN"; exit 0; fi

die() { echo "kube build: $*" >&2; exit 1; }
say() { printf '[kube build %(%T)T] %s\n' -1 "$*" >&2; }
command -v go >/dev/null || die "Go is missing: install Go 1.24+ (https://go.dev/dl, or apt-get install golang-1.24)"
command -v gcc >/dev/null || die "gcc is missing (the pause binary is C): apt-get install gcc libc6-dev"
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
# Two cores: a build that also runs tests must not starve them.
NICE=(nice -n 10)

# fresh <name> <version>: true when <name> at <version> still has to be built
fresh() { [ "$(cat "$KUBE_CACHE/$1.version" 2>/dev/null)" != "$2" ]; }
done_with() { echo "$2" >"$KUBE_CACHE/$1.version"; }

module_dir() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)",/\1/p'; }

# wrapper <dir> <module-path> <go.mod body>: a throwaway module in the cache
wrapper() {
  rm -rf "$1"; mkdir -p "$1"
  printf 'module %s\n\ngo 1.24.0\n\n%s\n' "$2" "$3" >"$1/go.mod"
}

build_kubernetes() {
  # Our own multi-call wrapper is part of what is built: a change to it rebuilds too.
  local stamp
  stamp="$KUBERNETES_VERSION $PROVISIONER_LIB_VERSION $(cat "$HERE"/cmd/kube/*.go | sha256sum | cut -c1-12)"
  fresh kube "$stamp" || return 0
  say "Kubernetes $KUBERNETES_VERSION (apiserver, controller-manager, scheduler, kubelet, proxy)"
  local dir="$KUBE_CACHE/src/kube" staging v=${KUBERNETES_VERSION#v} upstream
  upstream=$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")
  # Every staging module k8s.io/X is published as k8s.io/X v0.<minor>.<patch>.
  staging=$(sed -n 's#^\s*\(k8s.io/[a-z-]*\) => ./staging/.*#\1#p' "$upstream/go.mod" \
    | while read -r m; do echo "  $m => $m v0.${v#*.}"; done)
  wrapper "$dir" taskpilot.local/kube "require (
  k8s.io/kubernetes $KUBERNETES_VERSION
  sigs.k8s.io/sig-storage-lib-external-provisioner/v11 $PROVISIONER_LIB_VERSION
)
replace (
$staging
)"
  cp "$HERE"/cmd/kube/*.go "$dir/"
  (cd "$dir" && { go mod tidy >/dev/null 2>&1 || go mod tidy; })
  local pkg=k8s.io/component-base/version major=${v%%.*} minor=${v#*.}
  (cd "$dir" && "${NICE[@]}" go build -trimpath -o "$BIN/kube" -ldflags "-s -w \
    -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=${minor%%.*} \
    -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" .)
  # The pause container: upstream's C source from the same module, packed FROM scratch later.
  gcc -Os -static -Wall -DVERSION="$KUBERNETES_VERSION" -o "$BIN/pause" "$upstream/build/pause/linux/pause.c"
  done_with kube "$stamp"
}

build_etcd() {
  fresh etcd "$ETCD_VERSION" || return 0
  say "etcd $ETCD_VERSION"
  local dir="$KUBE_CACHE/src/etcd"
  wrapper "$dir" taskpilot.local/etcd "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  cp "$HERE/cmd/etcd/main.go" "$dir/"
  (cd "$dir" && { go mod tidy >/dev/null 2>&1 || go mod tidy; })
  (cd "$dir" && "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .)
  done_with etcd "$ETCD_VERSION"
}

# directives <go.mod>: its replace and exclude directives, minus replacements by local paths.
# They only apply to a main module, so a wrapper must repeat them to build what upstream builds.
directives() {
  awk '
    /^(replace|exclude) \($/ { block = $1; next }
    block && /^\)/ { block = ""; next }
    block && $0 !~ /=> *\.\.?\// && $0 !~ /^[[:space:]]*(\/\/|$)/ { print block " " $0; next }
    /^(replace|exclude) / && $0 !~ /=> *\.\.?\// { print }
  ' "$1"
}

# build_module <name> <version> <module> <package>=<binary>…: upstream's own main packages
build_module() {
  local name=$1 version=$2 module=$3; shift 3
  fresh "$name" "$version" || return 0
  say "$name $version"
  local dir="$KUBE_CACHE/src/$name" upstream pair
  upstream=$(module_dir "$module@$version")
  wrapper "$dir" "taskpilot.local/$name" "require $module $version
$(directives "$upstream/go.mod")"
  for pair in "$@"; do
    (cd "$dir" && { go get "$module${pair%%=*}@$version" >/dev/null 2>&1 || go get "$module${pair%%=*}@$version"; })
    (cd "$dir" && "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$BIN/${pair#*=}" "$module${pair%%=*}")
  done
  done_with "$name" "$version"
}

# Tilt's release binary embeds its web UI's production build, which the published module does not
# carry (pkg/assets/build holds only robots.txt; a dev build would want a webpack server instead).
# So Tilt builds from a copy of its module, with the UI built from the module's own web/ sources.
build_tilt() {
  local stamp="$TILT_VERSION with its web UI"
  fresh tilt "$stamp" || return 0
  say "Tilt $TILT_VERSION and its web UI"
  local dir="$KUBE_CACHE/src/tilt" upstream
  upstream=$(module_dir "github.com/tilt-dev/tilt@$TILT_VERSION")
  command -v npm >/dev/null || die "npm is missing (Tilt's web UI is built with it): install Node.js 20+"
  wrapper "$dir" taskpilot.local/tilt "require github.com/tilt-dev/tilt $TILT_VERSION
replace github.com/tilt-dev/tilt => ./tilt
$(directives "$upstream/go.mod")"
  cp -r "$upstream" "$dir/tilt"; chmod -R u+w "$dir/tilt"
  # Storybook is for developing the UI, not building it, and pins versions the registry no longer has:
  # its packages, stories and the tests that import them go.
  (cd "$dir/tilt/web" && find src \( -name '*.stories.tsx' -o -name '*.test.ts*' \) -delete && node -e '
    const fs = require("fs"), pkg = JSON.parse(fs.readFileSync("package.json"));
    for (const deps of [pkg.dependencies, pkg.devDependencies])
      for (const name of Object.keys(deps || {})) if (name.includes("storybook")) delete deps[name];
    fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2));' &&
    npm install --legacy-peer-deps --no-audit --no-fund --loglevel=error >/dev/null &&
    CI=false GENERATE_SOURCEMAP=false "${NICE[@]}" npx react-scripts build >/dev/null)
  cp -r "$dir/tilt/web/build/." "$dir/tilt/pkg/assets/build/"
  (cd "$dir" && { go get "github.com/tilt-dev/tilt/cmd/tilt@$TILT_VERSION" >/dev/null 2>&1 || go get "github.com/tilt-dev/tilt/cmd/tilt@$TILT_VERSION"; })
  # main.version makes it a release build: it serves the embedded UI and reports its version.
  (cd "$dir" && CGO_ENABLED=1 "${NICE[@]}" go build -trimpath -o "$BIN/tilt" \
    -ldflags "-s -w -X main.version=${TILT_VERSION#v}" github.com/tilt-dev/tilt/cmd/tilt)
  done_with tilt "$stamp"
}

start=$SECONDS
build_kubernetes
build_etcd
build_module containerd "$CONTAINERD_VERSION" github.com/containerd/containerd/v2 \
  /cmd/containerd=containerd /cmd/containerd-shim-runc-v2=containerd-shim-runc-v2 /cmd/ctr=ctr
build_module coredns "$COREDNS_VERSION" github.com/coredns/coredns =coredns
build_tilt
say "components ready in $((SECONDS - start)) s"
echo "$BIN"
