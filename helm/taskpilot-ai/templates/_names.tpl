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
