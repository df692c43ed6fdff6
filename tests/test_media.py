"""Images next to a deck travel in the package and reach Anki's media folder."""

from __future__ import annotations

import re

from anki_client import import_package, notes_by_guid, open_collection
from test_reproducible import PNG

import ankiqa
from ankiqa.render import is_sound


def test_images_arrive_and_an_edited_image_arrives_again(tmp_path):
    decks = tmp_path / "decks"
    (decks / "img").mkdir(parents=True)
    (decks / "img" / "dot.png").write_bytes(PNG)
    (decks / "pictures.md").write_text(
        "### Which dot?\n\n![a dot](img/dot.png)\n\nquestion id: dot\n", encoding="utf-8"
    )
    col = open_collection(tmp_path / "col")
    package = tmp_path / "deck.apkg"

    ankiqa.export([decks], output=package, now=1_800_000_000)
    assert import_package(col, package).new == 1
    answer = notes_by_guid(col)[ankiqa.note_guid("dot")]["fields"]["Answer"]
    (name,) = re.findall(r'<img src="([^"]+)" alt="a dot"', answer)
    assert (tmp_path / "col" / "collection.media" / name).read_bytes() == PNG

    (decks / "img" / "dot.png").write_bytes(PNG + b"\0")  # same file name, new content
    ankiqa.export([decks], output=package, now=1_800_000_100)
    counts = import_package(col, package)
    assert (counts.new, counts.updated, counts.conflicting) == (0, 1, 0)
    answer = notes_by_guid(col)[ankiqa.note_guid("dot")]["fields"]["Answer"]
    (new_name,) = re.findall(r'<img src="([^"]+)"', answer)
    assert new_name != name
    assert (tmp_path / "col" / "collection.media" / new_name).read_bytes() == PNG + b"\0"
    col.close()


def test_image_names_with_spaces_accents_and_braces_arrive(tmp_path):
    decks = tmp_path / "decks"
    names = ["my pic ü.png", "naïve.png", "brace{x}.png", "日本.png"]
    decks.mkdir()
    for name in names:
        (decks / name).write_bytes(PNG + name.encode())
    images = "\n\n".join(f"![{n}](<{n}>)" for n in names)
    (decks / "names.md").write_text(
        f"### Which pictures?\n\n{images}\n\nquestion id: names\n", encoding="utf-8"
    )
    ankiqa.export([decks], output=tmp_path / "names.apkg", now=1_800_000_000)
    col = open_collection(tmp_path / "col")
    assert import_package(col, tmp_path / "names.apkg").new == 1
    answer = notes_by_guid(col)[ankiqa.note_guid("names")]["fields"]["Answer"]
    sources = re.findall(r'<img src="([^"]+)"', answer)
    media = tmp_path / "col" / "collection.media"
    assert [(media / src).read_bytes() for src in sources] == [PNG + n.encode() for n in names]
    assert col.media.check().missing == []
    col.close()


def test_raw_html_images_are_packaged_too(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "dot.png").write_bytes(PNG)
    (decks / "raw.md").write_text(
        '### Which dot?\n\n<img src="dot.png" width="20">\n\nquestion id: raw\n', encoding="utf-8"
    )
    ankiqa.export([decks], output=tmp_path / "raw.apkg", now=1_800_000_000)
    col = open_collection(tmp_path / "col")
    assert import_package(col, tmp_path / "raw.apkg").new == 1
    answer = notes_by_guid(col)[ankiqa.note_guid("raw")]["fields"]["Answer"]
    (src,) = re.findall(r'<img src="([^"]+)"', answer)
    assert src.startswith("dot-") and src.endswith(".png")
    assert (tmp_path / "col" / "collection.media" / src).read_bytes() == PNG
    col.close()


def test_sound_and_video_files_play_in_anki(tmp_path):
    decks = tmp_path / "decks"
    (decks / "audio").mkdir(parents=True)
    sounds = {
        "audio/Bonjour à tous.mp3": b"ID3\x03\x00fake mp3 bytes",
        "audio/clip.webm": b"\x1aE\xdf\xa3 fake webm",
    }
    for name, data in sounds.items():
        (decks / name).write_bytes(data)
    (decks / "french.md").write_text(
        "### How is *hello everyone* said?\n\n[Listen](<audio/Bonjour à tous.mp3>) and"
        " watch: ![clip](audio/clip.webm)\n\nquestion id: hello\n",
        encoding="utf-8",
    )
    package = tmp_path / "deck.apkg"
    ankiqa.export([decks], output=package, now=1_800_000_000)
    col = open_collection(tmp_path / "col")
    try:
        assert import_package(col, package).new == 1
        answer = notes_by_guid(col)[ankiqa.note_guid("hello")]["fields"]["Answer"]
    finally:
        col.close()
    names = re.findall(r"\[sound:([^\]]+)\]", answer)
    assert re.fullmatch(r"<p>\[sound:[^\]]+\] and watch: \[sound:[^\]]+\]</p>", answer)
    for name, data in zip(names, sounds.values(), strict=True):
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,120}", name)
        assert (tmp_path / "col" / "collection.media" / name).read_bytes() == data


def test_sound_files_are_known_by_the_suffix_of_their_url_path():
    sounds = ["a.mp3", "A.MP3?x=1", "https://x.org/v.webm#t", "x.ogg/.", "clip.m\tp3"]
    others = ["a.mp4x", "a.png", "mp3", "a.png?as=.mp3", "page#a.wav", ""]
    assert [is_sound(src) for src in sounds] == [True] * len(sounds)
    assert [is_sound(src) for src in others] == [False] * len(others)


def test_a_missing_sound_file_is_a_warning(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "d.md").write_text("### Q\n\n[Listen](gone.mp3)\n\nquestion id: q\n", encoding="utf-8")
    found = ankiqa.check_project(ankiqa.load_project([decks]))
    (missing,) = [d for d in found if d.code == "image-not-found"]
    assert missing.message.startswith("sound or video `gone.mp3` not found")


def test_odd_image_sources_are_warnings_not_tracebacks(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "loop").symlink_to("loop")
    (decks / "d.md").write_text(
        f"### Q\n\n![a](loop) ![b](x%00y.png) ![c]({'n' * 300}.png)\n\nquestion id: q\n",
        encoding="utf-8",
    )
    found = ankiqa.check_decks([decks])
    assert [d.code for d in found if d.code != "malformed-id"] == ["image-not-found"] * 3
    assert ankiqa.export([decks], output=tmp_path / "d.apkg", now=1_800_000_000).notes == 1


def test_a_file_too_large_to_sync_is_not_packaged(tmp_path, monkeypatch):
    monkeypatch.setattr(ankiqa.notes, "MAX_MEDIA_BYTES", 10)
    monkeypatch.setattr(ankiqa.check, "MAX_MEDIA_BYTES", 10)
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "big.mp3").write_bytes(b"x" * 11)
    (decks / "d.md").write_text("### Q\n\n[Listen](big.mp3)\n\nquestion id: q\n", encoding="utf-8")
    assert "media-too-large" in {d.code for d in ankiqa.check_decks([decks])}
    (note,) = ankiqa.build_decks([decks])
    assert note.media == () and "[sound:" not in note.fields[1]
