"""Labelled real photos (data/vision/real_photos.yaml) and how a detector does on them.

The photos come from registry packages (scikit-image's wheel, Debian's opencv-doc and darknet),
pinned by SHA-256; ``load_photos`` finds and verifies them, ``evaluate_detector`` runs a
Detector over a split and reports mAP@0.5 and the detections that are not there at any score
threshold (a detection matching no boxed object of its class, in a class the photo does not
ignore).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import pathlib

import numpy as np

from edge_agent.core.config.paths import data_file
from edge_agent.core.config.schema import PhotoSetFile, load_yaml
from edge_agent.core.errors import ConfigError, MissingDependency
from edge_agent.core.models.verify import sha256_file
from edge_agent.core.vision.postprocess import Box, iou
from edge_agent.eval.detection import mean_average_precision

__all__ = ['LabelledPhoto', 'PhotoScore', 'default_photo_set', 'evaluate_detector',
           'fit_observation', 'jittered', 'load_photos', 'read_image']


@dataclasses.dataclass(frozen=True)
class LabelledPhoto:
    """One photo with its boxes: ``boxes`` [M,4] xyxy, ``labels`` M names."""

    name: str
    split: str
    path: pathlib.Path
    image: np.ndarray
    boxes: np.ndarray
    labels: tuple[str, ...]
    ignore: tuple[str, ...]


def default_photo_set() -> pathlib.Path:
    """data/vision/real_photos.yaml of the source tree (or the installed share folder)."""
    return data_file('data/vision/real_photos.yaml')


def read_image(path: str | pathlib.Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (OpenCV reads it); ConfigError if it cannot."""
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependency('reading image files needs OpenCV: pip install '
                                'opencv-python-headless') from exc
    if not pathlib.Path(path).is_file():
        raise ConfigError(f'{path}: no such file')
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConfigError(f'{path}: not an image OpenCV can read (missing, empty or corrupt)')
    return np.ascontiguousarray(bgr[..., ::-1])


def _locate(source) -> pathlib.Path:
    if source.pip:
        spec = importlib.util.find_spec(source.pip)
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependency(f'photo {source.path} ships in the pip package that provides '
                                    f'{source.pip!r}: install it (requirements/test.txt)')
        return pathlib.Path(list(spec.submodule_search_locations)[0]) / source.path
    path = pathlib.Path(source.path)
    if not path.is_file():
        raise MissingDependency(f'{path} ships in the Debian package {source.deb}: '
                                f'apt-get install {source.deb}')
    return path


def load_photos(split: str | None = None, path: str | pathlib.Path | None = None,
                verify: bool = True) -> list[LabelledPhoto]:
    """The photos of ``split`` (calibration, test or None for both), verified and decoded."""
    data = load_yaml(path or default_photo_set(), PhotoSetFile, 'labelled photo set')
    photos = []
    for entry in data.photos:
        if split is not None and entry.split != split:
            continue
        file = _locate(entry.source)
        if verify and sha256_file(file) != entry.sha256:
            raise ConfigError(f'photo {entry.name}: {file} is not the labelled one (SHA-256 '
                              f'differs from {entry.sha256[:12]}...): another package version?')
        boxes = np.array([o.box for o in entry.objects], np.float32).reshape(-1, 4)
        photos.append(LabelledPhoto(entry.name, entry.split, file, read_image(file), boxes,
                                    tuple(o.label for o in entry.objects),
                                    tuple(entry.ignore)))
    return photos


@dataclasses.dataclass(frozen=True)
class PhotoScore:
    """A detector on a set of photos: mAP@0.5 over the classes boxed there, per-class AP,
    every detection sorted into hits and false ones (score, label, photo), and the recall."""

    map50: float
    per_class: dict[str, float]
    hits: list[tuple[float, str, str]]
    false: list[tuple[float, str, str]]
    objects: int

    def false_at(self, threshold: float) -> list[tuple[float, str, str]]:
        """The false detections scoring at least ``threshold``."""
        return [f for f in self.false if f[0] >= threshold]

    def recall_at(self, threshold: float) -> float:
        """Boxed objects found (IoU >= 0.5, right class) by a detection scoring >= threshold."""
        return sum(1 for h in self.hits if h[0] >= threshold) / max(self.objects, 1)


def _match(photo: LabelledPhoto, boxes: list[Box], label_index: dict[str, int]):
    """Each detection as a hit (the best unmatched boxed object of its class, IoU >= 0.5),
    ignored (a class the photo ignores) or false, best score first."""
    taken: set[int] = set()
    hits, false = [], []
    for box in sorted(boxes, key=lambda b: -b.score):
        same = [i for i, name in enumerate(photo.labels)
                if name == box.label and i not in taken]
        if same:
            overlaps = iou(box.xyxy(), photo.boxes[same])[0]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= 0.5:
                taken.add(same[best])
                hits.append((box.score, box.label, photo.name))
                continue
        if box.label in photo.ignore:
            continue
        false.append((box.score, box.label, photo.name))
    return hits, false


def evaluate_detector(detector, photos: list[LabelledPhoto]) -> PhotoScore:
    """Run ``detector`` (its conf_threshold is the lowest score counted) over ``photos``."""
    index = {name: i for i, name in enumerate(detector.labels)}
    unknown = sorted({n for p in photos for n in p.labels} - set(index))
    if unknown:
        raise ConfigError(f'the detector knows no class {", ".join(unknown)} '
                          f'(it has {len(index)} classes)')
    predictions, truths, hits, false = [], [], [], []
    for photo in photos:
        found = detector.detect(photo.image)
        # ignored classes are neither hits nor misses for mAP either
        kept = [b for b in found if b.label not in photo.ignore]
        predictions.append(kept)
        truths.append(np.concatenate([photo.boxes, np.array(
            [[index[n]] for n in photo.labels], np.float32).reshape(-1, 1)], axis=1))
        h, f = _match(photo, found, index)
        hits += h
        false += f
    m_ap, per_class = mean_average_precision(predictions, truths, len(detector.labels))
    return PhotoScore(m_ap, {detector.labels[k]: v for k, v in per_class.items()},
                      sorted(hits, reverse=True), sorted(false, reverse=True),
                      sum(len(p.labels) for p in photos))


def jittered(image: np.ndarray, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` frames of ``image`` as a camera would send them: sensor noise, a small change
    of exposure, a shift of a few pixels (the first frame is the photo itself)."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    frames = [image]
    for _ in range(count - 1):
        dy, dx = rng.integers(0, max(h // 40, 1) + 1), rng.integers(0, max(w // 40, 1) + 1)
        frame = image[dy:h - max(h // 40, 1) + dy, dx:w - max(w // 40, 1) + dx].astype(
            np.float32)
        frame = frame * rng.uniform(0.85, 1.15) + rng.normal(0.0, 4.0, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def _beta_fit(values: list[float], most: float = 20.0) -> tuple[float, float]:
    """Beta(a, b) with the mean and variance of ``values`` (method of moments), a + b at most
    ``most`` so that a few similar scores do not make a spike."""
    m = float(np.clip(np.mean(values), 0.01, 0.99))
    v = float(max(np.var(values), 1e-4))
    common = float(np.clip(m * (1 - m) / v - 1, 0.5, most))
    return m * common, (1 - m) * common


def fit_observation(detector, photos: list[LabelledPhoto], threshold: float,
                    frames: int = 8) -> dict:
    """The agent's detector observation model (core.inference.DetectorModel) fitted to
    ``detector`` used at ``threshold`` on ``photos``: each photo as ``frames`` jittered camera
    frames; p_hit = the share of frames in which a boxed object is found at ``threshold``,
    p_recur = the share of frames in which a false detection at ``threshold`` (followed across
    frames by class and overlap) comes back; the Beta fits of hit and false scores use every
    detection the detector makes at its own (lower) conf_threshold, for enough data."""
    found, hit_scores, false_scores, recurrence = [], [], [], []
    for k, photo in enumerate(photos):
        per_object = np.zeros(len(photo.labels))
        tracks: list[tuple[str, np.ndarray, int]] = []   # label, box (first frame), frames seen
        images = jittered(photo.image, frames, seed=k)
        for image in images:
            taken: set[int] = set()
            for box in sorted(detector.detect(image), key=lambda b: -b.score):
                same = [i for i, n in enumerate(photo.labels) if n == box.label and i not in taken]
                if same:
                    overlaps = iou(box.xyxy(), photo.boxes[same])[0]
                    if overlaps.max() >= 0.5:
                        taken.add(same[int(np.argmax(overlaps))])
                        hit_scores.append(box.score)
                        if box.score >= threshold:
                            per_object[same[int(np.argmax(overlaps))]] += 1
                        continue
                if box.label in photo.ignore:
                    continue
                false_scores.append(box.score)
                if box.score < threshold:
                    continue
                for t, (label, first, seen) in enumerate(tracks):
                    if label == box.label and iou(box.xyxy(), first)[0, 0] >= 0.3:
                        tracks[t] = (label, first, seen + 1)
                        break
                else:
                    tracks.append((box.label, box.xyxy(), 1))
        found += list(per_object / len(images))
        recurrence += [min(seen / len(images), 1.0) for _, _, seen in tracks]
    if not hit_scores or not false_scores:
        raise ConfigError('the fit needs hits and false detections in the photos; '
                          f'got {len(hit_scores)} and {len(false_scores)}')
    real_a, real_b = _beta_fit(hit_scores)
    false_a, false_b = _beta_fit(false_scores)
    return {'p_hit': float(np.clip(np.mean(found), 0.05, 0.95)),
            'p_recur': float(np.clip(np.mean(recurrence) if recurrence else 0.05, 0.05, 0.95)),
            'real_a': real_a, 'real_b': real_b, 'false_a': false_a, 'false_b': false_b}
