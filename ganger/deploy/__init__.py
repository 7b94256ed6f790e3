"""Packaging and CloudFormation deployment, shared by `ganger deploy` and `ganger local`."""
