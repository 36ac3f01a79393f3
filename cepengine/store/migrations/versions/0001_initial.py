"""Initial schema: runs, matches, processed event ids, checkpoints.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cep_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rules_fingerprint", sa.String(64), nullable=False),
        sa.Column("rules_json", sa.Text, nullable=False),
        sa.Column("inputs_json", sa.Text, nullable=False),
        sa.Column("options_json", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_table(
        "cep_matches",
        sa.Column("match_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("key_json", sa.Text, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("match_json", sa.Text, nullable=False),
        sa.Column("stored_at", sa.Float, nullable=False),
    )
    op.create_index("ix_cep_matches_rule_start", "cep_matches", ["rule", "start_ms"])
    op.create_table(
        "cep_event_ids",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_cep_event_ids_ts_ms", "cep_event_ids", ["ts_ms"])
    op.create_table(
        "cep_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("format_version", sa.Integer, nullable=False),
        sa.Column("watermark", sa.BigInteger),
        sa.Column("position_json", sa.Text, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
    )
    op.create_index("ix_cep_checkpoints_run_id", "cep_checkpoints", ["run_id"])


def downgrade() -> None:
    op.drop_table("cep_checkpoints")
    op.drop_table("cep_event_ids")
    op.drop_table("cep_matches")
    op.drop_table("cep_runs")
