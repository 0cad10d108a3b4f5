{{/*
The keys of the Secret pods read, each with the `secrets.*` value that sets it, the length generated
when it is missing (0: never generated) and whether pods may start without it.
*/}}
{{- define "taskpilot-ai.secretKeys" -}}
{{- list
  (dict "key" "DB_PASSWORD" "value" "databasePassword" "generateLength" 32 "optional" false)
  (dict "key" "JWT_SECRET" "value" "jwtSecret" "generateLength" 48 "optional" false)
  (dict "key" "OPENAI_API_KEY" "value" "openaiApiKey" "generateLength" 0 "optional" true)
  | toJson }}
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
{{- range $spec := include "taskpilot-ai.secretKeys" . | fromJsonArray }}
{{- $given := get $secrets $spec.value }}
{{- if $given }}{{ $_ := set $data $spec.key ($given | b64enc) }}
{{- else if get $held $spec.key }}{{ $_ := set $data $spec.key (get $held $spec.key) }}
{{- else if $spec.optional }}{{ $_ := set $data $spec.key "" }}
{{- else if $secrets.generate }}{{ $_ := set $data $spec.key (randAlphaNum (int $spec.generateLength) | b64enc) }}
{{- else }}{{ $missing = append $missing (printf "secrets.%s is required" $spec.value) }}
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

{{/* True ("true") when this render can read the cluster: `lookup` answers (install/upgrade, --dry-run=server). */}}
{{- define "taskpilot-ai.clusterVisible" -}}
{{- if (lookup "v1" "Namespace" "" "kube-system") }}true{{ end }}
{{- end }}
