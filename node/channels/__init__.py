"""Channels other than the web page by which survivors reach the node (issue 19): USSD and
SMS."""
