"""master data: schools, providers, pools, municipalities, commitments, cost centres

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('municipalities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('gl_bearer', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'name', name='uq_municipality_name')
    )
    op.create_table('providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'name', name='uq_provider_name')
    )
    op.create_table('schools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('school_number', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('bearer', sa.String(length=200), nullable=False),
    sa.Column('school_form', sa.String(length=60), nullable=False),
    sa.Column('gl_school', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'school_number', name='uq_school_number')
    )
    op.create_table('pass_through_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('verified_on', sa.Date(), nullable=False),
    sa.Column('document_reference', sa.String(length=200), nullable=False),
    sa.Column('verified_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('pools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('financing_basis', sa.String(length=30), nullable=True),
    sa.Column('systemic_share', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.CheckConstraint("(financing_basis = 'mixed') = (systemic_share IS NOT NULL) OR financing_basis IS NULL", name='ck_pool_share'),
    sa.CheckConstraint("financing_basis IS NULL OR financing_basis IN ('systemic', 'individual_entitlements', 'mixed')", name='ck_pool_basis'),
    sa.CheckConstraint('period_end >= period_start', name='ck_pool_period'),
    sa.CheckConstraint('systemic_share IS NULL OR (systemic_share >= 0 AND systemic_share <= 100)', name='ck_pool_share_range'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'key', name='uq_pool_key')
    )
    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('monthly_cents', sa.BigInteger(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('end_date >= start_date', name='ck_commitment_term'),
    sa.CheckConstraint('monthly_cents > 0', name='ck_commitment_positive'),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], ),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'reference', name='uq_commitment_reference')
    )
    op.create_table('cost_centres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('pool_id', sa.Integer(), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('project', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(CASE WHEN school_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN pool_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN municipality_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN project IS NULL THEN 0 ELSE 1 END) = 1', name='ck_cost_centre_target'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], ),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'code', name='uq_cost_centre_code')
    )
    op.create_table('pool_schools',
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
    sa.PrimaryKeyConstraint('pool_id', 'school_id')
    )


def downgrade() -> None:
    op.drop_table('pool_schools')
    op.drop_table('cost_centres')
    op.drop_table('commitments')
    op.drop_table('pools')
    op.drop_table('pass_through_verifications')
    op.drop_table('schools')
    op.drop_table('providers')
    op.drop_table('municipalities')
