"""Test helpers: real peers (dispatch core stub, SIPp runner, RTP tap) for the hotline tests."""
