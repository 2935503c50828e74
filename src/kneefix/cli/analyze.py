"""``kneefix analyze`` and ``kneefix landmarks``: technique checks from a phone video.

Thin: flags in, :func:`kneefix.services.technique.run_analysis` called, result shown. stdout carries only
the result (with ``--json``, only the report), so ``kneefix analyze clip.mp4 -m squat --json | jq`` works;
the progress bar and messages go to stderr.

``kneefix landmarks`` is a small group: ``export`` (the default, so ``kneefix landmarks VIDEO -o
FILE.csv`` works as it always did) writes a video's landmarks, or rewrites a landmark CSV in pixels;
``convert`` turns another tool's MediaPipe table into kneefix's landmark CSV.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from kneefix.cli.base import app
from kneefix.errors import InputError
from kneefix.motion.landmarks_csv import ImageSize, parse_image_size
from kneefix.motion.types import LandingResult, Report, RepResult

if TYPE_CHECKING:  # the pipeline pulls in PyAV, OpenCV and matplotlib: import it only when a command runs
    from kneefix.motion.landmarks_convert import Conversion
    from kneefix.motion.pipeline import ProgressCallback, ProgressUpdate

out_console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class MovementChoice(enum.StrEnum):
    squat = "squat"
    deadlift = "deadlift"
    landing = "landing"
    single_leg_squat = "single-leg-squat"


class SideOption(enum.StrEnum):
    auto = "auto"
    left = "left"
    right = "right"


class FormatChoice(enum.StrEnum):
    auto = "auto"
    kneefix = "kneefix"
    mediapipe_wide = "mediapipe-wide"


IMAGE_SIZE_HELP = (
    "For a landmark CSV in MediaPipe's normalised coordinates: the video's size in pixels, WIDTHxHEIGHT "
    "(e.g. 1280x720), used to convert x, y and z to pixels."
)


_STAGE_NAMES = {"pose": "Finding the body", "overlay": "Drawing annotated.mp4"}


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A Rich bar on stderr (frames done, frames/s, time left), one task per stage; None when hidden."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames  {task.fields[fps]:>5.1f}/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(event: ProgressUpdate) -> None:
            if event.stage not in tasks:
                name = _STAGE_NAMES.get(event.stage, event.stage)
                tasks[event.stage] = bar.add_task(name, total=event.total, fps=0.0)
            task = tasks[event.stage]
            fps = event.fps or _measured_fps(bar, task)
            bar.update(task, completed=event.done, total=event.total, fps=fps)

        yield update


def _measured_fps(bar: Progress, task: TaskID) -> float:
    speed = bar.tasks[task].speed if task < len(bar.tasks) else None
    return float(speed or 0.0)


def _num(value: float | None, digits: int = 0, unit: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _table(title: str, headers: list[str]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    return table


def _rep_table(reps: list[RepResult], with_valgus: bool) -> Table:
    headers = [
        "rep",
        "start\ns",
        "bottom\ns",
        "knee - hip\nonset ms",
        "started\nby",
        "peak\nhip",
        "peak\nknee",
        "pose\ntrack",
    ]
    table = _table("Reps", headers + (["valgus"] if with_valgus else []))
    for rep in reps:
        style = {"knees": "yellow", "hips": "green"}.get(rep.initiation, "")
        poor = rep.quality.level == "poor"
        row = [
            str(rep.rep) + ("*" if rep.partial else ""),
            f"{rep.start_s:.2f}",
            f"{rep.bottom_s:.2f}",
            _num(rep.lag_ms),
            f"[{style}]{rep.initiation}[/]" if style else rep.initiation,
            "-" if poor else _num(rep.peak_hip_flexion_deg, 0, "°"),
            "-" if poor else _num(rep.peak_knee_flexion_deg, 0, "°"),
            "[red]poor[/]" if poor else rep.quality.level,
        ]
        if with_valgus:
            row.append(_num(rep.valgus_deg, 0, "°"))
        table.add_row(*row)
    if any(rep.partial for rep in reps):
        table.caption = "* the clip starts or ends inside this rep"
    return table


def _landing_table(landings: list[LandingResult]) -> Table:
    headers = ["landing", "contact\ns", "knee at\ncontact", "hip at\ncontact", "peak\nknee"]
    headers += ["hip at\npeak knee", "knee\nrange", "hip:knee", "LESS\nmeasured"]
    table = _table("Landings", headers)
    for landing in landings:
        table.add_row(
            str(landing.landing),
            f"{landing.initial_contact_s:.2f}",
            _num(landing.knee_flexion_ic_deg, 0, "°"),
            _num(landing.hip_flexion_ic_deg, 0, "°"),
            _num(landing.peak_knee_flexion_deg, 0, "°"),
            _num(landing.hip_flexion_at_peak_knee_deg, 0, "°"),
            _num(landing.knee_flexion_displacement_deg, 0, "°"),
            _num(landing.hip_knee_ratio, 2),
            "-" if landing.less_total_measured is None else str(landing.less_total_measured),
        )
    return table


def print_report(report: Report, out_dir: Path | None) -> None:
    """The human summary: what was analysed, a table per rep or landing, warnings, then the cues."""
    movement = report.movement.replace("-", " ")
    out_console.print(
        f"[bold]{movement}[/] - {report.source}: {report.side} side, {report.view} view, "
        f"{report.duration_s:.1f} s at {report.fps:.1f} frames/s"
    )
    if report.reps:
        out_console.print(_rep_table(report.reps, any(rep.valgus_deg is not None for rep in report.reps)))
    if report.landings:
        out_console.print(_landing_table(report.landings))
    if not report.reps and not report.landings:
        out_console.print("[yellow]No rep or landing was found in this clip.[/]")
    for warning in report.warnings:
        out_console.print(f"[yellow]Warning:[/] {warning}")
    if report.feedback:
        out_console.print("[bold]What to work on[/]")
        for line in report.feedback:
            out_console.print(f"  - {line}")
    if out_dir is not None:
        out_console.print(f"[dim]Files written to {out_dir}[/]")


def _image_size(text: str | None, input_path: Path) -> ImageSize | None:
    """``--image-size`` parsed; refused for a video, which knows its own size."""
    if text is None:
        return None
    size = parse_image_size(text)
    from kneefix.services.technique import input_kind

    if input_kind(input_path) == "video":
        raise InputError(
            f"--image-size is for landmark CSVs; {input_path.name} is read as a video, whose size is read "
            f"from the file. Leave --image-size out."
        )
    return size


@app.command("analyze")
def analyze_command(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="A video (mp4, mov, webm, avi) or a landmark CSV.")
    ],
    movement: Annotated[
        MovementChoice, typer.Option("--movement", "-m", help="What the clip shows.", case_sensitive=False)
    ],
    side: Annotated[
        SideOption, typer.Option("--side", help="Which leg to analyse; auto decides once per clip.")
    ] = SideOption.auto,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for report.json, landmarks.csv, angles.*, annotated.mp4."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the report, as JSON, on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_video: Annotated[
        bool, typer.Option("--no-video", help="Skip annotated.mp4 (the slowest output).")
    ] = False,
    image_size: Annotated[
        str | None, typer.Option("--image-size", metavar="WxH", help=IMAGE_SIZE_HELP)
    ] = None,
) -> None:
    """Check squat, deadlift, landing or single-leg-squat technique from a video, rep by rep.

    A coaching aid from 2-D video, not a diagnosis.
    """
    from kneefix.services.technique import run_analysis

    size = _image_size(image_size, input_path)
    with progress_bar(not quiet) as progress:
        report = run_analysis(
            input_path,
            movement.value,
            side.value,
            out,
            progress=progress,
            quiet=quiet,
            annotate=not no_video,
            image_size=size,
        )
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_report(report, out)


class LandmarksGroup(TyperGroup):
    """``kneefix landmarks ...``: ``export`` unless the first word names another sub-command.

    Keeps ``kneefix landmarks VIDEO -o FILE.csv`` (the command before ``convert`` existed) working.
    """

    default_command = "export"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


landmarks_app = typer.Typer(
    name="landmarks",
    cls=LandmarksGroup,
    no_args_is_help=True,
    help="Landmark CSVs: export a video's landmarks (kneefix landmarks VIDEO -o FILE.csv), or convert "
    "another tool's MediaPipe landmarks (kneefix landmarks convert INPUT -o FILE.csv).",
)
app.add_typer(landmarks_app)


def _print_conversion(conversion: Conversion) -> None:
    for warning in conversion.warnings:
        err_console.print(f"[yellow]Warning:[/] {escape(warning)}")
    for written in conversion.written:
        clip = f" (clip {escape(written.clip)})" if written.clip is not None else ""
        found = f"{written.frames_with_person} with a person"
        err_console.print(f"Wrote {written.frames} frames ({found}){clip} to {escape(str(written.path))}")


@landmarks_app.command("export")
def landmarks_command(
    video: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="The video to run the pose model on, or a landmark CSV to rewrite in pixels (as convert).",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The landmark CSV to write.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    image_size: Annotated[
        str | None, typer.Option("--image-size", metavar="WxH", help=IMAGE_SIZE_HELP)
    ] = None,
) -> None:
    """Export the pose landmarks of every frame as a CSV (the format README documents).

    The default sub-command: kneefix landmarks VIDEO -o FILE.csv.
    """
    from kneefix.services.technique import export_landmarks, input_kind

    size = _image_size(image_size, video)
    if input_kind(video) == "landmarks":
        from kneefix.motion.landmarks_convert import convert_landmarks

        _print_conversion(convert_landmarks(video, output, image_size=size))
        return
    with progress_bar(not quiet) as progress:
        series, warnings = export_landmarks(video, output, progress=progress)
    for warning in warnings:
        err_console.print(f"[yellow]Warning:[/] {warning}")
    found = int(np.isfinite(series.xy[:, :, 0]).any(axis=1).sum())
    err_console.print(f"Wrote {len(series)} frames ({found} with a person) to {output}")


@landmarks_app.command("convert")
def convert_command(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT", help="A landmark table from another tool (e.g. MediaPipe, one row per frame)."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The landmark CSV to write (OUT_<clip>.csv per clip if there are several)."
        ),
    ],
    fmt: Annotated[
        FormatChoice,
        typer.Option("--format", help="The input's format; auto tells them apart by the header."),
    ] = FormatChoice.auto,
    image_size: Annotated[
        str | None, typer.Option("--image-size", metavar="WxH", help=IMAGE_SIZE_HELP)
    ] = None,
    fps: Annotated[
        float | None,
        typer.Option("--fps", help="Frame rate for a table without a time column (default 30)."),
    ] = None,
    clip: Annotated[
        str | None, typer.Option("--clip", help="Convert only this clip (a value of the clip column) to OUT.")
    ] = None,
    clip_column: Annotated[
        str | None,
        typer.Option("--clip-column", help="The column naming each row's clip (default: clip, video, ...)."),
    ] = None,
) -> None:
    """Convert another tool's landmarks into kneefix's landmark CSV (pixels; README, Landmark CSV).

    Reads a MediaPipe table (one row per frame, <landmark>_x, _y, _z, _v columns) or kneefix's own CSV.

    MediaPipe's normalised coordinates need --image-size; every conversion is reported.
    """
    from kneefix.motion.landmarks_convert import convert_landmarks

    size = parse_image_size(image_size) if image_size is not None else None
    conversion = convert_landmarks(
        input_path, output, fmt=fmt.value, image_size=size, fps=fps, clip=clip, clip_column=clip_column
    )
    _print_conversion(conversion)
