{{/*
The backend's non-secret settings, as ConfigMap data (a JSON object): every key of backend.config
becomes the variable app/core/config.py reads under its UPPER_SNAKE name (dbPoolSize → DB_POOL_SIZE),
so a new setting needs only its values.yaml key and schema entry. The database coordinates and
TRUSTED_PROXIES come from other parts of the values.
*/}}
{{- define "taskpilot-ai.backendConfig" -}}
{{- $data := dict
  "DB_HOST" .Values.postgresql.service.name
  "DB_PORT" "5432"
  "DB_NAME" .Values.postgresql.database
  "DB_USER" .Values.postgresql.username
  "TRUSTED_PROXIES" (join "," .Values.trustedProxies) }}
{{- range $name, $value := .Values.backend.config }}
{{- $_ := set $data ($name | snakecase | upper) (include "taskpilot-ai.envValue" $value) }}
{{- end }}
{{- $data | toJson }}
{{- end }}

{{/* A value as an environment variable: whole numbers without an exponent (YAML numbers arrive as floats, 1e+06). */}}
{{- define "taskpilot-ai.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/* The ConfigMap keys the backend reads, as a JSON list. */}}
{{- define "taskpilot-ai.backendConfigKeys" -}}
{{- include "taskpilot-ai.backendConfig" . | fromJson | keys | sortAlpha | toJson }}
{{- end }}

{{/*
Environment of every container that runs backend code (the app, the migrate init container): exactly
the variables app/core/config.py reads (see the env table in README.md). Non-secret ones from the
ConfigMap, secret ones by secretKeyRef — never a literal.
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
{{- range $spec := include "taskpilot-ai.secretKeys" . | fromJsonArray }}
- name: {{ $spec.key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $spec.key }}
      {{- if $spec.optional }}
      # an existingSecret may omit it (OPENAI_API_KEY: the assistant then runs its offline interpreter)
      optional: true
      {{- end }}
{{- end }}
{{- end }}
