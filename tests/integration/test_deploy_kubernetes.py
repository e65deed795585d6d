"""deploy/kubernetes: every manifest parses, and the facts operators rely on hold: the
ConfigMap's config passes `sluice --check` with exactly the Deployment's environment; the
probes (readiness /_sluice/ready, liveness /_sluice/health) and the scrape go to the
admin listener's port; the grace period covers the preStop sleep plus drain_timeout;
resources and a restrictive securityContext are set; Services, the PodDisruptionBudget
and the HorizontalPodAutoscaler select the Deployment's pods, and the autoscaler's
metric is one sluice really exports."""

import glob
import os
import unittest

from deploy_files import (check_config, deploy_path, drain_timeout_ms, load_yaml_all,
                          port_of, read, yaml_module)
from harness import Gateway, make_config, metrics

HERE = deploy_path("kubernetes")


def manifests():
    out = {}
    for path in sorted(glob.glob(os.path.join(HERE, "*.yaml"))):
        for doc in load_yaml_all(path):
            out.setdefault(doc["kind"], []).append(doc)
    return out


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class KubernetesManifestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = manifests()
        (cls.deployment,) = cls.docs["Deployment"]
        cls.pod = cls.deployment["spec"]["template"]
        (cls.container,) = cls.pod["spec"]["containers"]
        (configmap,) = cls.docs["ConfigMap"]
        cls.config_text = configmap["data"]["sluice.yaml"]
        cls.config = yaml_module().safe_load(cls.config_text)
        cls.ports = {p["name"]: p["containerPort"] for p in cls.container["ports"]}

    def test_every_manifest_has_kind_name_and_api_version(self):
        files = glob.glob(os.path.join(HERE, "*.yaml"))
        self.assertGreaterEqual(len(files), 6)
        for path in files:
            for doc in load_yaml_all(path):
                self.assertIn("apiVersion", doc, path)
                self.assertIn("kind", doc, path)
                if doc["kind"] != "Kustomization":
                    self.assertTrue(doc["metadata"]["name"], path)
        for kind in ("Deployment", "Service", "ConfigMap", "PodDisruptionBudget",
                     "HorizontalPodAutoscaler", "Kustomization"):
            self.assertIn(kind, self.docs)

    def test_kustomization_lists_the_manifests_but_not_the_example_secret(self):
        (k,) = self.docs["Kustomization"]
        for name in k["resources"]:
            self.assertTrue(os.path.exists(os.path.join(HERE, name)), name)
        self.assertNotIn("secret.example.yaml", k["resources"])

    def test_the_configmap_config_passes_check_with_the_deployment_env(self):
        env = {}
        for e in self.container["env"]:
            env[e["name"]] = e.get("value", "from-a-secret")
        code, out = check_config(self.config_text, env)
        self.assertEqual(code, 0, out)
        # And each variable is needed: without one, --check names it.
        for name in env:
            rest = {k: v for k, v in env.items() if k != name}
            code, out = check_config(self.config_text, rest)
            self.assertEqual(code, 1, name)
            self.assertIn(f"{name} is not set", out)

    def test_the_config_is_mounted_where_sluice_reads_it(self):
        args = self.container["args"]
        path = args[args.index("-c") + 1]
        (mount,) = self.container["volumeMounts"]
        self.assertEqual(os.path.join(mount["mountPath"], "sluice.yaml"), path)
        (volume,) = self.pod["spec"]["volumes"]
        self.assertEqual(volume["name"], mount["name"])
        self.assertEqual(volume["configMap"]["name"], self.docs["ConfigMap"][0]["metadata"]["name"])

    def test_ports_match_the_config(self):
        self.assertEqual(self.ports["http"], port_of(self.config["listen"]))
        self.assertEqual(self.ports["admin"], port_of(self.config["admin"]["listen"]))
        ann = self.pod["metadata"]["annotations"]
        self.assertEqual(int(ann["prometheus.io/port"]), self.ports["admin"])
        self.assertEqual(ann["prometheus.io/path"], "/_sluice/metrics")

    def test_probes_use_the_admin_listener(self):
        ready = self.container["readinessProbe"]["httpGet"]
        live = self.container["livenessProbe"]["httpGet"]
        self.assertEqual((ready["path"], ready["port"]), ("/_sluice/ready", "admin"))
        self.assertEqual((live["path"], live["port"]), ("/_sluice/health", "admin"))

    def test_grace_period_covers_pre_stop_and_drain(self):
        command = self.container["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(command[0], "sleep")
        pre_stop_ms = int(command[1]) * 1000
        grace_ms = self.pod["spec"]["terminationGracePeriodSeconds"] * 1000
        self.assertGreater(grace_ms, pre_stop_ms + drain_timeout_ms(self.config_text))

    def test_resources_and_security_context(self):
        res = self.container["resources"]
        self.assertIn("cpu", res["requests"])
        self.assertIn("memory", res["requests"])
        self.assertIn("memory", res["limits"])
        pod_sc = self.pod["spec"]["securityContext"]
        self.assertTrue(pod_sc["runAsNonRoot"])
        self.assertNotEqual(pod_sc["runAsUser"], 0)
        # The image's user (deploy/container/Containerfile).
        self.assertIn(f"USER {pod_sc['runAsUser']}:", read(deploy_path("container", "Containerfile")))
        sc = self.container["securityContext"]
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])

    def test_services_pdb_and_hpa_select_the_pods(self):
        labels = self.pod["metadata"]["labels"]
        self.assertTrue(selects(self.deployment["spec"]["selector"]["matchLabels"], labels))
        by_name = {s["metadata"]["name"]: s for s in self.docs["Service"]}
        for svc in by_name.values():
            self.assertTrue(selects(svc["spec"]["selector"], labels))
            for p in svc["spec"]["ports"]:
                self.assertIn(p["targetPort"], self.ports)
        # The public Service does not expose the admin port.
        self.assertEqual([p["targetPort"] for p in by_name["sluice"]["spec"]["ports"]], ["http"])
        (pdb,) = self.docs["PodDisruptionBudget"]
        self.assertTrue(selects(pdb["spec"]["selector"]["matchLabels"], labels))
        self.assertLess(pdb["spec"]["maxUnavailable"], self.deployment["spec"]["replicas"])
        (hpa,) = self.docs["HorizontalPodAutoscaler"]
        target = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((target["kind"], target["name"]),
                         ("Deployment", self.deployment["metadata"]["name"]))

    def test_the_autoscaler_metric_is_exported(self):
        (hpa,) = self.docs["HorizontalPodAutoscaler"]
        names = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]]
        with Gateway(make_config()) as gw:
            exported = {series.split("{")[0] for series in metrics(gw.port)}
        for name in names:
            self.assertIn(name, exported)


if __name__ == "__main__":
    unittest.main()
