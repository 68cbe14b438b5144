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
# Queue announcements: "您前面还有" + number + "位，预计等待" + minutes + "分钟".
say position_before "您前面还有"
say position_after "位"
say wait_before "预计等待"
say wait_after "分钟"
say ten "十"
digits=(零 一 二 三 四 五 六 七 八 九)
names=(zero one two three four five six seven eight nine)
for i in "${!digits[@]}"; do say "${names[$i]}" "${digits[$i]}"; done
# When nobody can answer, and the callback offer.
say nobody_on_duty "您好，现在没有坐席值班。请在提示音后留言，按井号键结束。"
say after_hours "您好，现在是非工作时间。请在提示音后留言，按井号键结束。"
say queue_full "您好，现在来电较多，线路繁忙，请稍后再拨。"
say callback_offer "等待时间较长，如需预约回拨，请按一。"
say callback_confirmed "已为您预约回拨，我们将尽快给您回电，再见。"
say menu "举报投诉请按一，查询案件进展请按二。"
# The post-call survey (好差评), after the agent hangs up.
say survey "请对本次服务进行评价：满意请按1，基本满意请按2，不满意请按3。"
say survey_thanks "感谢您的评价，再见。"
# Music on hold: a slow, quiet arpeggio of a C major chord, looped (royalty-free, synthesised).
tmp=$(mktemp -d)
i=0
for note in C4 E4 G4 C5 G4 E4; do
    sox -n -r 8000 -c 1 -b 16 "$tmp/$i.wav" synth 0.6 sine "$note" fade q 0.05 0.6 0.25 vol 0.25
    i=$((i + 1))
done
sox "$tmp"/0.wav "$tmp"/1.wav "$tmp"/2.wav "$tmp"/3.wav "$tmp"/4.wav "$tmp"/5.wav \
    -r 8000 -c 1 -b 16 -e signed-integer "$out/moh.wav"
rm -rf "$tmp"
