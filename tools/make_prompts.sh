#!/usr/bin/env bash
# Regenerates the shipped caller prompts (8 kHz mono 16-bit WAV) with espeak-ng and sox.
# The WAVs are committed so a fresh machine needs neither tool; run this after changing a text.
set -euo pipefail
out="$(dirname "$0")/../telephony/prompts"
mkdir -p "$out"
say() {
    local name=$1 text=$2 tmp
    tmp=$(mktemp --suffix=.wav)
    espeak-ng -v cmn -s 150 -w "$tmp" "$text"
    sox "$tmp" -r 8000 -c 1 -b 16 -e signed-integer "$out/$name.wav" norm -3
    rm -f "$tmp"
}
say greeting "您好，这里是城市管理服务热线，正在为您接通坐席，请稍候。"
