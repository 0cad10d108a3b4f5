"""The `config`, `os` and `v1alpha1` modules of the Tilt API model (mixed into TiltModel).

Signatures: tilt_api.SIGNATURES ("config.*", "os.*", "v1alpha1.*"), from tilt-dev/tilt
internal/tiltfile/api/{config,os,v1alpha1}/__init__.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from tilt_api import ApiObject, TiltfileError


class ConfigHelp(TiltfileError):
    """`tilt up -- --help`: Tilt prints the flag usage and stops."""


class ModuleBuiltins:
    """Needs from the host: flags, args, env, settings, ui_buttons, cmds, main_dir, _loading, _abs()."""

    # ---- config / os / v1alpha1 modules ---------------------------------------------------------
    def _define(self, kind, name, args, usage):
        if name in self.flags:
            raise TiltfileError(f"config.define_{kind}: {name} defined multiple times")
        self.flags[name] = {"type": kind, "args": args, "usage": usage}

    def _b_config_define_bool(self, name, args, usage):
        self._define("bool", name, args, usage)

    def _b_config_define_string(self, name, args, usage):
        self._define("string", name, args, usage)

    def _b_config_define_string_list(self, name, args, usage):
        self._define("string_list", name, args, usage)

    def usage(self) -> str:
        return "\n".join(f"      --{n}  {f['usage']}" for n, f in self.flags.items())

    def _b_config_parse(self):
        """Go `flag` parsing of the args after `--` (tilt_config.json is not modelled)."""
        result, args = {}, list(self.args)
        while args:
            arg = args.pop(0)
            if arg in ("-h", "--help", "-help"):
                raise ConfigHelp("Usage:\n" + self.usage())
            if not arg.startswith("-"):
                raise TiltfileError(f"positional args were specified, but none were expected: {arg!r}")
            name, _, value = arg.lstrip("-").partition("=")
            flag = self.flags.get(name)
            if flag is None:
                raise TiltfileError(f"flag provided but not defined: -{name}\nUsage:\n{self.usage()}")
            if flag["type"] == "bool":
                result[name] = value.lower() not in ("false", "0", "f") if value else True
            else:
                value = value or (args.pop(0) if args else "")
                result[name] = [*result.get(name, []), value] if flag["type"] == "string_list" else value
        return result

    def _b_config_set_enabled_resources(self, resources):
        self.settings["enabled_resources"] = {"resources": resources}

    def _b_os_getenv(self, key, default):
        return self.env.get(key, default)

    def _b_os_getcwd(self):
        return str(self._loading[-1].parent if self._loading else self.main_dir)

    def _b_os_path_exists(self, path):
        return Path(self._abs(path)).exists()

    def _b_os_path_join(self, *parts):
        if not parts or not all(isinstance(p, str) for p in parts):
            raise TiltfileError("os.path.join: want one or more strings")
        return os.path.join(*parts)

    def _b_os_path_abspath(self, path):
        return self._abs(path)

    def _b_os_path_dirname(self, path):
        return os.path.dirname(path)

    def _b_os_path_basename(self, path):
        return os.path.basename(path)

    def _b_v1alpha1_ui_button(self, **a):
        if a["name"] in self.ui_buttons:
            raise TiltfileError(f"v1alpha1.ui_button: {a['name']} already defined")
        self.ui_buttons[a["name"]] = a

    def _b_v1alpha1_cmd(self, **a):
        if not a["args"]:
            raise TiltfileError("v1alpha1.cmd: args must have length at least 1")
        self.cmds[a["name"]] = a

    def _b_v1alpha1_ui_component_location(self, **a):
        return ApiObject("UIComponentLocation", a)

    def _b_v1alpha1_start_on_spec(self, **a):
        return ApiObject("StartOnSpec", a)

    def _b_v1alpha1_ui_input_spec(self, **a):
        return ApiObject("UIInputSpec", a)

    def _b_v1alpha1_ui_text_input_spec(self, **a):
        return ApiObject("UITextInputSpec", a)
