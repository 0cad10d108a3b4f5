{{/*
Naming. The release is expected to be `taskpilot-ai`; workloads are `<fullname>-<component>`.
*/}}
{{- define "taskpilot-ai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "taskpilot-ai.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "taskpilot-ai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "taskpilot-ai.configMapName" -}}
{{ include "taskpilot-ai.fullname" . }}-config
{{- end }}

{{/* The Secret pods read: the user's existingSecret or the one this chart renders. */}}
{{- define "taskpilot-ai.secretName" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecret }}{{ else }}{{ include "taskpilot-ai.fullname" . }}-secret{{ end }}
{{- end }}

{{- define "taskpilot-ai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taskpilot-ai.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Labels. Call with (dict "ctx" $ "component" "backend").
`app: taskpilot-<component>` is the label setup.sh, the docs and the cluster checks select pods by (`kubectl wait -l app=…`).
*/}}
{{- define "taskpilot-ai.selectorLabels" -}}
app: taskpilot-{{ .component }}
app.kubernetes.io/name: {{ include "taskpilot-ai.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "taskpilot-ai.labels" -}}
{{ include "taskpilot-ai.selectorLabels" . }}
helm.sh/chart: {{ include "taskpilot-ai.chart" .ctx }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: taskpilot-ai
{{- end }}

{{/* Image reference; call with (dict "ctx" $ "image" .Values.backend.image). */}}
{{- define "taskpilot-ai.image" -}}
{{- printf "%s:%s" .image.repository (.image.tag | default .ctx.Chart.AppVersion) }}
{{- end }}

{{/* Pod-level hardening shared by every pod; call with a component's securityContext values. */}}
{{- define "taskpilot-ai.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level hardening; call with a component's securityContext values. */}}
{{- define "taskpilot-ai.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ .readOnlyRootFilesystem }}
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Environment of every pod that runs backend code (Deployment, migration Job): exactly the variables
app/core/config.py reads (see the env table in README.md). Non-secret ones from the ConfigMap,
secret ones by secretKeyRef — never a literal.
*/}}
{{- define "taskpilot-ai.backendEnv" -}}
{{- $cm := include "taskpilot-ai.configMapName" . }}
{{- $secret := include "taskpilot-ai.secretName" . }}
{{- range $key := include "taskpilot-ai.backendConfigKeys" . | fromJsonArray }}
- name: {{ $key }}
  valueFrom:
    configMapKeyRef:
      name: {{ $cm }}
      key: {{ $key }}
{{- end }}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: DB_PASSWORD
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: JWT_SECRET
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: OPENAI_API_KEY
      # an existingSecret may omit it: the assistant then runs its offline interpreter
      optional: true
{{- end }}

{{/*
Checksums that roll a workload's pods when the configuration it reads changes — only its own
ConfigMap keys, so a backend LOG_LEVEL change does not restart the frontend.
Call with (dict "ctx" $ "keys" (list "BACKEND_URL") "secret" true).
*/}}
{{- define "taskpilot-ai.checksums" -}}
{{- $config := (include (print .ctx.Template.BasePath "/configmap.yaml") .ctx | fromYaml).data }}
{{- $picked := dict }}
{{- range $key := .keys }}{{ $_ := set $picked $key (get $config $key) }}{{- end -}}
checksum/config: {{ $picked | toJson | sha256sum }}
{{- if .secret }}
checksum/secret: {{ include "taskpilot-ai.secretChecksum" .ctx }}
{{- end }}
{{- end }}

{{/*
The Secret's data (base64) as the release holds it: a value given in values.yaml wins, then what the
cluster's Secret already holds (so upgrades keep the database password), then a generated one.
Resolved once per render and kept on .Values, so the Secret and the checksum that rolls the pods see
the same generated values: a later `helm upgrade` then computes the very same checksum.
*/}}
{{- define "taskpilot-ai.secretData" -}}
{{- $secrets := .Values.secrets }}
{{- if not (hasKey $secrets "_resolved") }}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace (include "taskpilot-ai.secretName" .)) | default dict }}
{{- $held := get $existing "data" | default dict }}
{{- $jwtMissing := and (not $secrets.jwtSecret) (not (get $held "JWT_SECRET")) }}
{{- $passwordMissing := and (not $secrets.databasePassword) (not (get $held "DB_PASSWORD")) }}
{{- /* Generating while `lookup` is blind (helm template, GitOps, --dry-run=client) would rotate the
       secrets on every render and lock the backend out of the database volume: refuse instead. */}}
{{- if and $secrets.generate (or $jwtMissing $passwordMissing) (not (include "taskpilot-ai.clusterVisible" .)) }}
{{- fail "secrets.generate=true but this render cannot look up the cluster (helm template, GitOps or --dry-run=client), so generated secrets would change on every render and lock the backend out of its database. Set existingSecret=<name of a Secret you manage>, or give secrets.jwtSecret and secrets.databasePassword explicitly (or render with --dry-run=server)." }}
{{- end }}
{{- $data := dict }}
{{- $missing := list }}
{{- range $spec := list (list "JWT_SECRET" $secrets.jwtSecret "jwtSecret" 48) (list "DB_PASSWORD" $secrets.databasePassword "databasePassword" 32) (list "OPENAI_API_KEY" $secrets.openaiApiKey "" 0) }}
{{- $key := index $spec 0 }}{{ $given := index $spec 1 }}{{ $name := index $spec 2 }}
{{- if $given }}{{ $_ := set $data $key ($given | b64enc) }}
{{- else if get $held $key }}{{ $_ := set $data $key (get $held $key) }}
{{- else if not $name }}{{ $_ := set $data $key "" }}
{{- else if $secrets.generate }}{{ $_ := set $data $key (randAlphaNum (index $spec 3) | b64enc) }}
{{- else }}{{ $missing = append $missing (printf "secrets.%s is required" $name) }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "%s (set --set secrets.<name>=… for each, or existingSecret=<name of a Secret you manage>)" (join "; " $missing)) }}
{{- end }}
{{- $_ := set $secrets "_resolved" $data }}
{{- end }}
{{- get $secrets "_resolved" | toJson }}
{{- end }}

{{/*
Rolls the backend when a secret changes without publishing a hash an attacker could brute-force: keyed
with the JWT secret (≥ 32 random characters), H(k ‖ H(k ‖ values)). With existingSecret the chart
does not know the values: only the Secret's name goes in.
*/}}
{{- define "taskpilot-ai.secretChecksum" -}}
{{- if .Values.existingSecret }}
{{- dict "existingSecret" .Values.existingSecret | toJson | sha256sum }}
{{- else }}
{{- $data := include "taskpilot-ai.secretData" . | fromJson }}
{{- $key := $data.JWT_SECRET }}
{{- printf "%s:%s" $key (printf "%s:%s" $key ($data | toJson) | sha256sum) | sha256sum }}
{{- end }}
{{- end }}

{{/* Secrets published in this repository (values-dev.yaml, test fixtures); the backend refuses them in prod. */}}
{{- define "taskpilot-ai.publishedSecrets" -}}
{{- list "dev-only-jwt-secret-change-me-0123456789abcdef" "dev-only-db-password" "test-only-jwt-secret-that-is-long-enough-0123456789" "e2e-only-jwt-secret-that-is-long-enough-0123456789" | toJson }}
{{- end }}

{{/* True ("true") when this render can read the cluster: `lookup` answers (install/upgrade, --dry-run=server). */}}
{{- define "taskpilot-ai.clusterVisible" -}}
{{- if (lookup "v1" "Namespace" "" "kube-system") }}true{{ end }}
{{- end }}

{{- define "taskpilot-ai.backendConfigKeys" -}}
{{- list "DB_HOST" "DB_PORT" "DB_NAME" "DB_USER" "APP_ENV" "LOG_LEVEL" "CORS_ORIGINS" "JWT_EXPIRES_MINUTES" "OPENAI_BASE_URL" "OPENAI_MODEL" "SHUTDOWN_DRAIN_SECONDS" "DB_POOL_SIZE" "DB_SESSION_POOL_SIZE" "SSE_MAX_STREAMS_PER_USER" "SSE_MAX_STREAMS_PER_POD" "PASSWORD_HASH_CONCURRENCY" "LOGIN_MAX_FAILURES_PER_ACCOUNT" "LOGIN_MAX_FAILURES_PER_IP" "LOGIN_FAILURE_WINDOW_SECONDS" "DB_STATEMENT_TIMEOUT_MS" "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS" "ASSISTANT_TURN_TIMEOUT_SECONDS" "ASSISTANT_MAX_TOOL_CALLS_PER_STEP" "REQUEST_BODY_MAX_BYTES" "REQUEST_BODY_TIMEOUT_SECONDS" "HTTP_HEADER_TIMEOUT_SECONDS" "HTTP_MAX_HEADER_BYTES" "API_DOCS" "TRUSTED_PROXIES" "SSE_MAX_STREAMS_PER_IP" "SIGNUP_MAX_PER_IP" "SIGNUP_WINDOW_SECONDS" | toJson }}
{{- end }}

{{/* Scheduling knobs; call with (dict "ctx" $ "component" "backend" "values" .Values.backend). */}}
{{- define "taskpilot-ai.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if eq .values.podAntiAffinity "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "taskpilot-ai.selectorLabels" . | nindent 14 }}
{{- else if eq .values.podAntiAffinity "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "taskpilot-ai.selectorLabels" . | nindent 12 }}
{{- end }}
{{- if .values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ $.values.topologySpread.maxSkew }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $.values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "taskpilot-ai.selectorLabels" $ | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Render-time checks that the schema cannot express; messages name the values to change. */}}
{{- define "taskpilot-ai.validate" -}}
{{- $b := .Values.backend }}
{{- if ge (add (int $b.preStopSleepSeconds) (int $b.config.shutdownDrainSeconds)) (int $b.terminationGracePeriodSeconds) }}
{{- fail (printf "backend.terminationGracePeriodSeconds (%v) must exceed backend.preStopSleepSeconds (%v) + backend.config.shutdownDrainSeconds (%v)" $b.terminationGracePeriodSeconds $b.preStopSleepSeconds $b.config.shutdownDrainSeconds) }}
{{- end }}
{{- $f := .Values.frontend }}
{{- if ge (int $f.preStopSleepSeconds) (int $f.terminationGracePeriodSeconds) }}
{{- fail (printf "frontend.terminationGracePeriodSeconds (%v) must exceed frontend.preStopSleepSeconds (%v)" $f.terminationGracePeriodSeconds $f.preStopSleepSeconds) }}
{{- end }}
{{- /* debugpy exists only in the dev image, and an open debugger port is remote code execution */}}
{{- if and .Values.debug.enabled (ne $b.config.appEnv "dev") }}
{{- fail "debug.enabled needs backend.config.appEnv=dev: debuggers are for the dev images on a local cluster (values-dev.yaml)" }}
{{- end }}
{{- /* the backend refuses to start in prod with a short JWT secret (app/core/config.py) */}}
{{- if and (eq $b.config.appEnv "prod") .Values.secrets.jwtSecret (lt (len .Values.secrets.jwtSecret) 32) }}
{{- fail "secrets.jwtSecret must be at least 32 characters when backend.config.appEnv=prod (the backend refuses shorter ones)" }}
{{- end }}
{{- if eq $b.config.appEnv "prod" }}
{{- $published := include "taskpilot-ai.publishedSecrets" . | fromJsonArray }}
{{- range $name, $value := dict "secrets.jwtSecret" .Values.secrets.jwtSecret "secrets.databasePassword" .Values.secrets.databasePassword }}
{{- if has $value $published }}
{{- fail (printf "%s is a dev/test value published in the TaskPilot repository and backend.config.appEnv=prod (the backend refuses it); set a freshly generated secret" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
