"""The values a chart's templates read (offline/chart_reads.py), and what the pack is handed offline.

Under ``pulumi preview`` a ``helm.v4.Chart`` reaches the pack with no properties, only the objects it
renders; offline its values stand in for them, so a value no template reads must decide nothing.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from offline.chart_reads import ChartText, Reads, chart_reads, load, read_values, template_reads, values_read_by
from offline.preview import preview

CONFIGMAP = """{{- if .Values.config }}
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}}
data:
  {{- range $key, $value := .Values.config }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
{{- end }}
"""


def paths(*dotted: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(p.split(".")) for p in dotted)


def write_chart(root: Path, name: str = "app", templates: dict[str, str] | None = None, extra: str = "") -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n{extra}")
    for file, text in (templates or {"configmap.yaml": CONFIGMAP}).items():
        (root / "templates" / file).write_text(text)
    return root


def test_dotted_and_index_reads_are_paths() -> None:
    text = '{{ .Values.ingress.enabled }} {{ $.Values.image }} {{ index .Values "tempo-distributed" "gateway" }}'
    assert template_reads(text) == Reads(paths("ingress.enabled", "image", "tempo-distributed.gateway"), False)
    assert template_reads("{{- with .Values.grafana }}{{ .adminPassword }}{{ end }}").paths == paths("grafana")


def test_values_handed_on_whole_or_tpl_read_everything() -> None:
    assert template_reads("{{ toYaml .Values | nindent 2 }}").everything
    assert template_reads("{{- $v := .Values }}{{ $v.a }}").everything
    assert template_reads('{{ index .Values $key }}').everything
    assert template_reads("{{ tpl .Values.config.template . }}").everything


def test_read_values_keeps_what_is_read_and_everything_under_it() -> None:
    values = {"ingress": {"enabled": True, "className": "nginx"}, "grafana": {"adminPassword": "x"},
              "config": {"A": "b", "nested": {"c": 1}}, "image": "app:1"}
    reads = Reads(paths("ingress.enabled", "config", "image.tag"), False)
    assert read_values(values, reads) == {"ingress": {"enabled": True}, "config": values["config"], "image": "app:1"}
    assert read_values(values, Reads(frozenset(), True)) == values
    assert read_values({"grafana": {"adminPassword": "x"}}, reads) == {}


def test_a_subchart_reads_under_its_alias_and_the_conditions_are_read() -> None:
    sub = ChartText("tempo-distributed", templates=["{{ if .Values.queryFrontend.ingress.enabled }}x{{ end }}"])
    parent = ChartText(
        "umbrella", templates=["{{ .Values.image }}"], subcharts=[sub],
        dependencies=[{"name": "tempo-distributed", "alias": "tempo", "condition": "tempo.enabled"}],
    )
    reads = chart_reads(parent)
    assert not reads.everything
    assert reads.paths >= paths("image", "tempo.queryFrontend.ingress.enabled", "tempo.enabled")
    assert ("tempo-distributed", "queryFrontend") not in reads.paths
    whole = ChartText("lib", templates=["{{ toYaml .Values }}"])
    assert chart_reads(ChartText("p", templates=["{{ .Values.a }}"], subcharts=[whole])).everything


def test_charts_load_from_directories_and_archives_with_subcharts(tmp_path: Path) -> None:
    chart = write_chart(tmp_path / "app")
    write_chart(chart / "charts" / "db", "db", {"secret.yaml": "{{ .Values.auth.password }}"})
    inner = write_chart(tmp_path / "cache", "cache", {"cm.yaml": "{{ .Values.maxMemory }}"})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(inner, arcname="cache")
    (chart / "charts" / "cache-1.0.0.tgz").write_bytes(buffer.getvalue())
    archive_path = tmp_path / "app-0.1.0.tgz"
    with tarfile.open(archive_path, "w:gz") as archive:
        archive.add(chart, arcname="app")
    for source in (chart, archive_path):
        loaded = load(source)
        assert loaded is not None and sorted(s.name for s in loaded.subcharts) == ["cache", "db"]
        assert chart_reads(loaded).paths >= paths("config", "db.auth.password", "cache.maxMemory")


def test_a_chart_that_cannot_be_read_keeps_every_value(tmp_path: Path) -> None:
    values = {"grafana": {"adminPassword": "x"}}
    assert values_read_by(None, values) == values  # a repository chart, not fetched offline
    (tmp_path / "broken.tgz").write_bytes(b"not an archive")
    assert values_read_by(tmp_path / "broken.tgz", values) == values
    chart = write_chart(tmp_path / "app")
    (chart / "charts" / "stray").mkdir(parents=True)  # a subchart directory without Chart.yaml
    (chart / "charts" / "stray" / "README").write_text("x")
    assert load(chart) is None and values_read_by(chart, values) == values


def run_chart(tmp_path: Path, values: str) -> tuple[int, str, dict[str, object]]:
    write_chart(tmp_path / "chart")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    program = tmp_path / "prog.py"
    program.write_text(
        "import pulumi_kubernetes as k8s\n"
        f'k8s.helm.v4.Chart("app", chart="chart", namespace="apps", values={values})\n'
    )
    stream = io.StringIO()
    plan, code = preview("dev", program=program, stream=stream, root=tmp_path)
    assert plan is not None, stream.getvalue()
    [chart] = plan.of_type("kubernetes:helm.sh/v4:Chart")
    return code, stream.getvalue(), chart.inputs


def test_a_credential_under_a_key_the_chart_never_reads_decides_nothing(tmp_path: Path) -> None:
    """Helm ignores it and the real CLI never sees it; the plan still shows what the program wrote."""
    code, output, inputs = run_chart(tmp_path, '{"grafana": {"adminPassword": "grafana123"}}')
    assert code == 0, output
    assert inputs["values"] == {"grafana": {"adminPassword": "grafana123"}}


def test_a_credential_the_chart_renders_is_blocked(tmp_path: Path) -> None:
    code, output, _inputs = run_chart(tmp_path, '{"config": {"ADMIN_PASSWORD": "grafana123"}}')
    assert code == 1
    assert "no-credential-literals" in output and "values.config.ADMIN_PASSWORD" in output


def test_a_v4_charts_static_objects_get_its_namespace_like_the_providers(tmp_path: Path) -> None:
    """The provider puts the chart's namespace on namespaced objects that name none (seen in the lab)."""
    chart = write_chart(tmp_path / "chart", templates={
        "static.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n---\n"
                       "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr}\n---\n"
                       "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    })
    (chart / "crds").mkdir()
    (chart / "crds" / "widget.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\n"
        "spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}\n"
    )
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    program = tmp_path / "prog.py"
    program.write_text('import pulumi_kubernetes as k8s\nk8s.helm.v4.Chart("c", chart="chart", namespace="apps")\n')
    plan, _code = preview("dev", program=program, stream=io.StringIO(), root=tmp_path)
    assert plan is not None
    namespaces = {r.kind: r.namespace for r in plan.resources if r.parent}
    assert namespaces == {
        "ServiceAccount": "apps", "ClusterRole": None, "Widget": "apps", "CustomResourceDefinition": None,
    }
