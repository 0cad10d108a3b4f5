{{/*
Render-time checks the schema cannot express; messages name the values to change. Called once, from
NOTES.txt (as Bitnami charts do): Helm renders NOTES.txt on install, upgrade and `helm template`
alike, so a failure here stops every one of them.
*/}}
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

{{/* Secrets published in this repository (values-dev.yaml, test fixtures); the backend refuses them in prod. */}}
{{- define "taskpilot-ai.publishedSecrets" -}}
{{- list "dev-only-jwt-secret-change-me-0123456789abcdef" "dev-only-db-password" "test-only-jwt-secret-that-is-long-enough-0123456789" "e2e-only-jwt-secret-that-is-long-enough-0123456789" | toJson }}
{{- end }}
