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
Scheduling knobs of a pod spec; call with (dict "ctx" $ "component" "backend" "values" .Values.backend).
A component without podAntiAffinity/topologySpread values (PostgreSQL: one primary) gets neither.
*/}}
{{- define "taskpilot-ai.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $antiAffinity := .values.podAntiAffinity | default "none" }}
{{- if eq $antiAffinity "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "taskpilot-ai.selectorLabels" . | nindent 14 }}
{{- else if eq $antiAffinity "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "taskpilot-ai.selectorLabels" . | nindent 12 }}
{{- end }}
{{- if dig "topologySpread" "enabled" false .values }}
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

{{/*
`pg_isready` as an exec probe of the PostgreSQL container itself (its own POSTGRES_* env names the
database and role); the loopback address keeps it off the unix socket directory.
*/}}
{{- define "taskpilot-ai.pgIsReadyProbe" -}}
exec:
  command: ["sh", "-c", 'pg_isready -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"']
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
