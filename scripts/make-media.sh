#!/usr/bin/env bash
# Makes the demo media the api serves from --media-root (docs/design.md, "Playback enforcement"):
# for each video of the catalog a 12-second HLS clip (H.264, 2-second segments, no audio) of a
# test pattern with the video's title drawn on it, laid out as DIR/{videoId}/index.m3u8 with its
# segments beside it. Generated, never committed.
#
#   scripts/make-media.sh [DIR] [CATALOG]     defaults: var/media data/catalog.json
#
# A clip already made is skipped, so a rerun costs nothing. Each clip is written into a temporary
# folder inside DIR and renamed into place, so an api (or a concurrent run of this script, as two
# test runs may be) never sees a half-written clip; the loser of a race throws its copy away.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-var/media}
catalog=${2:-$root/data/catalog.json}
font=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf  # Debian's fonts-dejavu-core

for need in ffmpeg python3; do
  command -v "$need" >/dev/null || { echo "make-media: $need is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[[ -r $font ]] || { echo "make-media: $font is missing (apt-get install fonts-dejavu-core)" >&2; exit 1; }
mkdir -p "$dir"

# "id<TAB>title<TAB>font size" per video; ids are checked here because each one becomes a folder
# name. A long title gets a smaller font so it fits the 320-pixel width (DejaVu Sans Bold's
# letters average about 0.62 of the font size).
videos=$(python3 - "$catalog" <<'EOF'
import json, re, sys
for v in json.load(open(sys.argv[1]))["videos"]:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", v["id"]):
        sys.exit(f"make-media: bad video id {v['id']!r} in {sys.argv[1]}")
    title = " ".join(v.get("title", v["id"]).split())
    print(f"{v['id']}\t{title}\t{min(16, int(300 / (0.62 * max(len(title), 1))))}")
EOF
)

make_clip() {
  local id=$1 title=$2 size=$3
  local tmp
  tmp=$(mktemp -d "$dir/.$id.XXXXXX")
  # The title goes through a file: drawtext's own quoting would need every ' and : escaped.
  printf '%s' "$title" >"$tmp/title.txt"
  printf 'streamgate demo clip - %s' "$id" >"$tmp/caption.txt"
  local text="fontfile=$font:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6:x=(w-text_w)/2"
  # A keyframe every 2 s (50 frames at 25 fps, no scene cuts) so every segment is exactly 2 s.
  if ! ffmpeg -nostdin -hide_banner -loglevel error -threads 1 \
      -f lavfi -i "testsrc2=size=320x180:rate=25:duration=12" \
      -vf "drawtext=$text:textfile=$tmp/title.txt:fontsize=$size:y=h/2-24,drawtext=$text:textfile=$tmp/caption.txt:fontsize=11:y=h/2+6" \
      -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -b:v 150k -maxrate 200k -bufsize 400k \
      -g 50 -keyint_min 50 -sc_threshold 0 -an \
      -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_filename "$tmp/seg%02d.ts" "$tmp/index.m3u8"; then
    rm -rf "$tmp"
    echo "make-media: ffmpeg failed for $id" >&2
    return 1
  fi
  rm -f "$tmp/title.txt" "$tmp/caption.txt"
  chmod 0755 "$tmp"
  # rename(2) onto a folder that appeared meanwhile fails: another run made it first.
  mv -T "$tmp" "$dir/$id" 2>/dev/null || rm -rf "$tmp"
}

# One ffmpeg per core: 20 clips take a few seconds.
jobs_max=$(nproc)
made=0
while IFS=$'\t' read -r id title size; do
  [[ -f $dir/$id/index.m3u8 ]] && continue
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n; done
  make_clip "$id" "$title" "$size" &
  made=$((made + 1))
done <<<"$videos"
failed=0
for pid in $(jobs -p); do wait "$pid" || failed=1; done
((failed == 0)) || exit 1
echo "make-media: $made clip(s) made in $dir"
