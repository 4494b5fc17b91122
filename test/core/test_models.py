"""Model catalog: joining parts, SHA-256 checks and clear errors, on small files made here,
then the real manifest against the models scripts/setup.sh installed."""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil

import pytest
import yaml

from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.errors import ConfigError
from edge_agent.core.models import (
    ModelCatalog,
    ModelError,
    ModelIntegrityError,
    ModelMissingError,
    check_sha256,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake(tmp_path):
    """Two fake 'packages' holding a split GGUF-like file and a CTranslate2-like folder."""
    pkgs = tmp_path / 'site'
    part1 = os.urandom(3000)
    part2 = os.urandom(1234)
    config = b'{"layers": 4}'
    (pkgs / 'fake_a' / 'data').mkdir(parents=True)
    (pkgs / 'fake_b' / 'data').mkdir(parents=True)
    (pkgs / 'fake_a' / 'data' / 'w.part1').write_bytes(part1)
    (pkgs / 'fake_b' / 'data' / 'w.part2').write_bytes(part2)
    (pkgs / 'fake_b' / 'data' / 'config.json').write_bytes(config)
    (pkgs / 'fake_b' / 'data' / 'single.gguf').write_bytes(part2)
    joined = part1 + part2
    manifest = {'schema_version': 1, 'models': {
        'split-llm': {
            'modality': 'llm', 'format': 'gguf', 'license': 'MIT', 'layout': 'file',
            'packages': ['fake-a==1', 'fake-b==1'],
            'files': {'model.gguf': {'sha256': _sha(joined), 'size': len(joined), 'parts': [
                {'module': 'fake_a', 'path': 'data/w.part1', 'sha256': _sha(part1),
                 'size': len(part1)},
                {'module': 'fake_b', 'path': 'data/w.part2', 'sha256': _sha(part2),
                 'size': len(part2)}]}}},
        'stt-dir': {
            'modality': 'stt', 'format': 'ctranslate2', 'license': 'MIT', 'layout': 'directory',
            'packages': ['fake-a==1', 'fake-b==1'],
            'files': {
                'model.bin': {'sha256': _sha(joined), 'size': len(joined), 'parts': [
                    {'module': 'fake_a', 'path': 'data/w.part1'},
                    {'module': 'fake_b', 'path': 'data/w.part2'}]},
                'config.json': {'sha256': _sha(config), 'size': len(config), 'parts': [
                    {'module': 'fake_b', 'path': 'data/config.json'}]}}},
        'in-place': {
            'modality': 'llm', 'format': 'gguf', 'license': 'MIT', 'layout': 'file',
            'packages': ['fake-b==1'],
            'files': {'single.gguf': {'sha256': _sha(part2), 'size': len(part2), 'parts': [
                {'module': 'fake_b', 'path': 'data/single.gguf'}]}}},
    }}
    path = tmp_path / 'manifest.yaml'
    path.write_text(yaml.safe_dump(manifest))

    def locate(module):
        folder = pkgs / module
        return folder if folder.is_dir() else None

    catalog = ModelCatalog(path, cache_dir=tmp_path / 'cache', locate=locate)
    catalog.test_data = {'joined': joined, 'pkgs': pkgs, 'part2': part2, 'config': config}
    return catalog


def test_split_file_is_joined_and_verified(fake):
    path = fake.assemble('split-llm')
    assert path == fake.cache_dir / 'split-llm' / 'model.gguf'
    assert path.read_bytes() == fake.test_data['joined']
    assert fake.path('split-llm') == path
    assert fake.status('split-llm').verified


def test_directory_model_is_assembled_into_one_folder(fake):
    folder = fake.assemble('stt-dir')
    assert folder.is_dir()
    assert (folder / 'model.bin').read_bytes() == fake.test_data['joined']
    assert (folder / 'config.json').read_bytes() == fake.test_data['config']


def test_single_part_model_is_used_in_place(fake):
    path = fake.assemble('in-place')
    assert path == fake.test_data['pkgs'] / 'fake_b' / 'data' / 'single.gguf'
    assert not (fake.cache_dir / 'in-place').exists()


def test_corrupt_part_is_named_and_nothing_half_written(fake):
    part = fake.test_data['pkgs'] / 'fake_a' / 'data' / 'w.part1'
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r'SHA-256 mismatch for part .*w\.part1'):
        fake.assemble('split-llm')
    leftovers = list((fake.cache_dir / 'split-llm').glob('*')) if (
        fake.cache_dir / 'split-llm').exists() else []
    assert leftovers == []


def test_corrupt_part_without_part_checksum_fails_on_the_joined_file(fake):
    part = fake.test_data['pkgs'] / 'fake_b' / 'data' / 'w.part2'
    part.write_bytes(b'\0' * len(fake.test_data['part2']))
    with pytest.raises(ModelIntegrityError, match=r'joined model\.bin .* has SHA-256'):
        fake.assemble('stt-dir')
    assert not (fake.cache_dir / 'stt-dir' / 'model.bin').exists()
    assert not list((fake.cache_dir / 'stt-dir').glob('*.partial'))


def test_missing_package_names_module_and_install_command(fake):
    (fake.test_data['pkgs'] / 'fake_b' / 'data' / 'w.part2').unlink()
    with pytest.raises(ModelMissingError, match=r'part .*w\.part2 is missing'):
        fake.assemble('split-llm')
    status = fake.status('split-llm')
    assert not status.present and not status.verified
    shutil.rmtree(fake.test_data['pkgs'] / 'fake_b')  # the package is uninstalled
    with pytest.raises(ModelMissingError, match=r"module 'fake_b' is not installed.*"
                                                r"edge-agent models install in-place"):
        fake.path('in-place')


def test_damaged_joined_file_is_detected_and_rebuilt(fake):
    path = fake.assemble('split-llm')
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01  # same size, new mtime: the quick check must re-hash
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match='SHA-256 mismatch'):
        fake.verify('split-llm')
    assert fake.assemble('split-llm').read_bytes() == fake.test_data['joined']
    path.write_bytes(b'short')
    with pytest.raises(ModelIntegrityError, match='has 5 bytes'):
        fake.path('split-llm')


def test_corruption_with_the_mtime_put_back_is_still_found(fake):
    """The issue's case: a file changed after install, its size and mtime restored (as
    ``touch -r`` or a careful tool would), must not pass on its old stamp."""
    path = fake.assemble('split-llm')
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    with open(path, 'r+b') as fh:   # in place: same inode, same size
        fh.write(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size,
                                                              before.st_mtime_ns)
    with pytest.raises(ModelIntegrityError, match=r'SHA-256 mismatch for .*model\.gguf'):
        fake.path('split-llm')
    status = fake.status('split-llm')
    assert status.present and not status.verified and 'model.gguf' in status.message


def test_stamp_spares_the_rehash_only_for_an_untouched_file(fake, monkeypatch):
    path = fake.assemble('split-llm')
    hashed: list[pathlib.Path] = []
    original = ModelCatalog._hash_file
    monkeypatch.setattr(ModelCatalog, '_hash_file',
                        lambda self, p, *a: hashed.append(p) or original(self, p, *a))
    fake.path('split-llm')
    assert hashed == []            # unchanged since its last full hash: the stamp vouches
    os.chmod(path, 0o644)          # metadata only, but the ctime moves: hash again
    fake.path('split-llm')
    assert hashed == [path]
    fake.verify('split-llm', full=True)
    assert hashed == [path, path]   # full always hashes


def test_expected_sha256_of_a_user_file(tmp_path):
    model = tmp_path / 'mine.onnx'
    model.write_bytes(b'onnx bytes')
    check_sha256(model, _sha(b'onnx bytes').upper())   # any case
    check_sha256(model, '')                           # no expectation: nothing to check
    with pytest.raises(ModelIntegrityError, match=r'mine\.onnx: SHA-256 is .*, expected 0+'):
        check_sha256(model, '0' * 64)
    with pytest.raises(ModelIntegrityError, match='not a SHA-256'):
        check_sha256(model, 'abc')
    with pytest.raises(ModelMissingError, match=r'nope\.onnx does not exist'):
        check_sha256(tmp_path / 'nope.onnx', '0' * 64)


def test_unknown_name_lists_known_models(fake):
    with pytest.raises(ModelError, match=r"unknown model 'nope'.*in-place, split-llm, stt-dir"):
        fake.path('nope')


@pytest.mark.parametrize('text,match', [
    ('models: [1, 2]', r'bad.yaml: models: Input should be a valid dictionary'),
    ('models: {x: {modality: llm}}', r'bad.yaml: models.x.format: Field required; and \d+ more'),
    ('models: {x: {modality: sound, format: f, license: l, layout: file, files: {}}}',
     r"models.x.modality: Input should be 'stt', 'llm'"),
    ('{{{', r'bad.yaml: not valid YAML at line 1, column 4'),
    ('- just a list', 'expected a mapping at the top of the model manifest'),
])
def test_malformed_manifest_is_one_config_error_naming_file_and_key(tmp_path, text, match):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        ModelCatalog(path, cache_dir=tmp_path)


def test_tier_catalog_rejects_unknown_models(tmp_path):
    path = tmp_path / 'tiers.yaml'
    path.write_text('tiers:\n  - name: a\n    llm: {model: ghost}\n')
    with pytest.raises(ConfigError,
                       match=r"tiers.0.llm.model: 'ghost' is not in the model manifest"):
        TierCatalog(path, known_models={'real'})
    with pytest.raises(IndexError):
        TierCatalog(path)[1]


# -- the real manifest, against what scripts/setup.sh installed --------------------------------

def test_shipped_tier_catalog_uses_manifest_models_and_ends_without_llm():
    catalog = ModelCatalog()
    tiers = TierCatalog(known_models=set(catalog.models))
    assert len(tiers) >= 2
    assert tiers[len(tiers) - 1].model('llm') is None  # the floor needs no language model
    assert tiers.models() <= set(catalog.models)


@pytest.mark.parametrize('name', ModelCatalog().names())
def test_installed_model_is_verified(name):
    catalog = ModelCatalog()
    spec = catalog.spec(name)
    path = catalog.verify(name, full=True)
    if spec.format == 'gguf':
        assert path.is_file() and path.read_bytes()[:4] == b'GGUF'
    elif spec.format == 'onnx':
        import onnx

        onnx.checker.check_model(str(path))
    elif spec.format == 'tflite':   # a FlatBuffer with the TFLite file identifier
        assert path.is_file() and path.read_bytes()[4:8] == b'TFL3'
    else:
        assert (path / 'model.bin').stat().st_size == next(
            f.size for f in spec.files if f.name == 'model.bin')
        assert (path / 'config.json').is_file()


def test_manifest_lists_the_platform_models():
    catalog = ModelCatalog()
    assert {'whisper-tiny.en', 'whisper-base', 'qwen2.5-coder-0.5b-q4km',
            'smollm2-135m-q4_1'} <= set(catalog.models)
    for spec in catalog.models.values():
        local = all(not p.module for f in spec.files for p in f.parts)
        assert spec.license and spec.upstream and (spec.packages or local)
        assert all(len(f.sha256) == 64 for f in spec.files)


def test_default_manifest_is_the_source_tree_copy():
    assert ModelCatalog().manifest_path == (
        pathlib.Path(__file__).resolve().parents[2] / 'models' / 'manifest.yaml')
