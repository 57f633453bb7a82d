"""Reading Ansible YAML that holds !vault values, without their passwords."""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Encrypted:
    """A !vault value: only its header can be read."""

    ciphertext: str

    @property
    def vault_id(self) -> str:
        header = self.ciphertext.strip().splitlines()[0].split(";")
        return header[3] if len(header) > 3 else ""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!vault", lambda loader, node: Encrypted(loader.construct_scalar(node)))


def load_all(text: str) -> list:
    return list(yaml.load_all(text, Loader=_Loader))  # noqa: S506 - a SafeLoader with one more tag
